"""Which ``gen_ai.provider.name`` a model id belongs to, when the caller did not say.

The conventions require ``gen_ai.provider.name`` on inference spans and metrics; dashboards group by it.
A model id alone names its provider for the big first-party families; for anything else (open-weight
models served by vLLM, Bedrock or a router) the id is ambiguous and we return ``None`` rather than guess.

Example::

    >>> infer_provider("gpt-4o-mini"), infer_provider("claude-sonnet-4-5"), infer_provider("llama-3.1-8b")
    ('openai', 'anthropic', None)
"""

from __future__ import annotations

from functools import lru_cache

# Model-id prefixes (lower case) of first-party families, mapped to the conventions' provider values.
_PREFIXES: tuple[tuple[str, str], ...] = (
    ("gpt-", "openai"),
    ("chatgpt-", "openai"),
    ("o1", "openai"),
    ("o3", "openai"),
    ("o4", "openai"),
    ("text-embedding-", "openai"),
    ("omni-moderation", "openai"),
    ("davinci", "openai"),
    ("babbage", "openai"),
    ("claude", "anthropic"),
    ("gemini", "gcp.gemini"),
    ("mistral", "mistral_ai"),
    ("mixtral", "mistral_ai"),
    ("codestral", "mistral_ai"),
    ("ministral", "mistral_ai"),
    ("pixtral", "mistral_ai"),
    ("magistral", "mistral_ai"),
    ("devstral", "mistral_ai"),
    ("deepseek", "deepseek"),
    ("grok", "x_ai"),
    ("command", "cohere"),
    ("embed-english", "cohere"),
    ("embed-multilingual", "cohere"),
    ("sonar", "perplexity"),
    ("kimi", "moonshot_ai"),
    ("moonshot", "moonshot_ai"),
)

# "openai/gpt-4o" style ids (LiteLLM, OpenRouter): the part before the slash, when it is a provider.
_ROUTED: dict[str, str] = {
    "openai": "openai",
    "anthropic": "anthropic",
    "gemini": "gcp.gemini",
    "google": "gcp.gemini",
    "vertex_ai": "gcp.vertex_ai",
    "mistral": "mistral_ai",
    "mistralai": "mistral_ai",
    "deepseek": "deepseek",
    "x-ai": "x_ai",
    "xai": "x_ai",
    "cohere": "cohere",
    "groq": "groq",
    "perplexity": "perplexity",
    "bedrock": "aws.bedrock",
    "azure": "azure.ai.openai",
}


@lru_cache(maxsize=512)  # bounded: model ids are few, but a caller may pass anything
def infer_provider(model: str | None) -> str | None:
    """The provider of a model id when its family is unambiguous, else ``None``."""
    if not model:
        return None
    name = model.strip().lower()
    if "/" in name:
        head, _, tail = name.partition("/")
        routed = _ROUTED.get(head)
        if routed is not None:
            return routed
        name = tail
    if name.startswith(("anthropic.", "us.anthropic.", "eu.anthropic.", "apac.anthropic.", "amazon.", "meta.")):
        return "aws.bedrock"  # Bedrock's model ids: the provider is Bedrock, whoever made the model
    for prefix, provider in _PREFIXES:
        if name.startswith(prefix):
            if prefix in ("o1", "o3", "o4") and len(name) > 2 and name[2] not in "-_":
                continue  # "o1" is a family, "o1x..." is not
            return provider
    return None
