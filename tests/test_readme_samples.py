"""Every Python sample of the README runs as written, in a fresh interpreter, with the real ``openai`` and
``anthropic`` clients talking to a local fake API (tests/support/fake_llm_server.py).

A sample is taken from the README as it is; the only code added is what the README leaves to the reader (the
``client`` the sample calls, a ticket and an inference engine of the user's own) and a few lines that drive it
and print what it returns. The OTLP exporters point at a closed port: a sample may print our one line saying
that nothing listens there, and nothing else.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.fake_llm_server import FakeLLMServer
from tests.support.prom import free_port

README = Path(__file__).resolve().parents[1] / "README.md"
SAMPLES = [
    (README.read_text()[: m.start()].count("\n") + 1, textwrap.dedent(m.group(1)))
    for m in re.finditer(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)
]

OPENAI = 'import openai\nclient = openai.OpenAI(base_url=os.environ["FAKE_LLM"] + "/v1", api_key="k", max_retries=0)\n'
ANTHROPIC = (
    'import anthropic\nclient = anthropic.Anthropic(base_url=os.environ["FAKE_LLM"], api_key="k", max_retries=0)\n'
)
USERS_OWN = """
from types import SimpleNamespace
ticket = SimpleNamespace(thread_id="thread-42")
prompt = "Summarise the ticket"
class Engine:  # the user's own local inference engine (e.g. vLLM's LLM), which the sample traces
    def generate(self, prompt):
        return SimpleNamespace(text="ok", prompt_tokens=12, completion_tokens=3)
engine = Engine()
"""

# What each sample needs before it (besides ``import os`` and ``import otel_agentperf as ap``) and after it,
# keyed by the sample's first line; the expected output of the driver.
HARNESS: dict[str, tuple[str, str, str]] = {
    "import otel_agentperf as ap": (
        OPENAI,
        'import asyncio\nprint(asyncio.run(plan("What is the capital of France?")))\n',
        "['Paris.']",
    ),
    'with ap.trace_agent("triage", conversation_id=ticket.thread_id) as span:': (
        USERS_OWN,
        'print(out.text, ap.conversation_cost("thread-42") is None)\n',
        "ok True",  # llama-3.1-8b on vLLM has no price: the conversation has no cost
    ),
    '@ap.trace_llm(provider="anthropic", model="claude-haiku-4-5")': (ANTHROPIC, "print()\n", "Bonjour"),
    "for s in ap.suggestions()[:3]:": ("", "print(sorted(parts))\n", "['cost', 'latency', 'resources', 'success']"),
    "from concurrent.futures import ProcessPoolExecutor": (
        "",
        "print(sum(pool.map(abs, [-1, -2, 3])))\npool.shutdown()\n",
        "6",
    ),
}


# What a sample rightly says on stderr besides the OTLP line: the README documents it next to the sample.
ALSO_SAID = {
    'with ap.trace_agent("triage", conversation_id=ticket.thread_id) as span:': (
        "no price known for model 'llama-3.1-8b' (provider 'vllm')",  # "one warning" (README, Cost)
    ),
}


def line_of(code: str) -> str:
    return code.splitlines()[0]


@pytest.fixture(scope="module")
def fake_llm() -> Iterator[FakeLLMServer]:
    server = FakeLLMServer()
    yield server
    server.stop()


def test_every_sample_has_a_harness() -> None:
    assert len(SAMPLES) >= 5
    missing = [code.splitlines()[0] for _, code in SAMPLES if code.splitlines()[0] not in HARNESS]
    assert not missing, f"new README samples: say in HARNESS what they need and what they print: {missing}"


@pytest.mark.parametrize(("line", "code"), SAMPLES, ids=[f"README.md:{line}" for line, _ in SAMPLES])
def test_readme_sample_runs_as_written(line: int, code: str, fake_llm: FakeLLMServer) -> None:
    before, after, expected = HARNESS[code.splitlines()[0]]
    program = "import os\nimport otel_agentperf as ap\n" + before + "\n" + code + "\n" + after
    env = {
        **os.environ,
        "FAKE_LLM": fake_llm.url,
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{free_port()}",  # nothing listens there
        "PYTHONPATH": str(README.parent),
    }
    out = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, env=env)
    assert out.returncode == 0, f"README.md:{line}\n{out.stderr[-3000:]}"
    assert out.stdout.strip().splitlines()[-1].strip() == expected, out.stdout
    said = ("cannot export to the OTLP endpoint", *ALSO_SAID.get(line_of(code), ()))
    noise = [x for x in out.stderr.splitlines() if x.strip() and not any(s in x for s in said)]
    assert not noise, out.stderr
