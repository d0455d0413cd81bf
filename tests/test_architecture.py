"""The package's shape: folders by concern, imports that flow one way, no circles, no CLI in the SDK.

Built from the source with ``ast`` (function-level imports included), so a lazy import cannot hide an
edge. The ranks below are the architecture: a module may import modules of its own rank or lower.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "otel_agentperf"

# Lowest first. Same-rank imports are fine when they form no circle.
RANKS: dict[str, int] = {
    "semconv": 0,
    "_errors": 0,
    "_version": 0,
    "_locks": 0,
    "_text": 0,
    "telemetry": 1,  # instruments, fast histograms, resource gauges
    "cost": 2,  # usage, prices, the price book, ledger and budgets
    "insights": 3,  # statistics, rules, suggestions, the advisor, fleet rules over PromQL
    "tracing": 4,  # the call path: decorators, calls, streams, accounting, the span processor, global state
    "setup": 5,  # configure(), exporters, gauges, zero-code, processes
    "__init__": 6,  # the public face
    "testing": 6,
    "stack": 6,  # the native stack runner and the alerts printer
    "cli": 7,
    "__main__": 8,
}
SDK_RANK = 6  # everything at or below this rank is the SDK: no CLI, no rich
CLI_ONLY_PACKAGES = ("rich",)


def module_name(path: Path) -> str:
    rel = path.relative_to(PACKAGE.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def area(module: str) -> str:
    parts = module.split(".")
    if len(parts) == 1:
        return "__init__"
    return parts[1]


def imports_of(path: Path) -> tuple[set[str], set[str]]:
    """(our modules imported, third-party top-level packages imported) by one file, lazy imports included."""
    tree = ast.parse(path.read_text())
    me = module_name(path)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    ours: set[str] = set()
    others: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.split(".")[0] == "otel_agentperf":
                    ours.add(alias.name)
                else:
                    others.add(alias.name.split(".")[0])
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - (node.level - 1)]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module or ""
            if target.split(".")[0] != "otel_agentperf":
                others.add(target.split(".")[0])
                continue
            for alias in node.names:  # `from . import x` may name a module
                candidate = f"{target}.{alias.name}"
                if (PACKAGE.parent / (candidate.replace(".", "/") + ".py")).exists() or (
                    PACKAGE.parent / candidate.replace(".", "/") / "__init__.py"
                ).exists():
                    ours.add(candidate)
                else:
                    ours.add(target)
    ours.discard(me)
    return ours, others


def graph() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    edges: dict[str, set[str]] = {}
    third: dict[str, set[str]] = {}
    for path in PACKAGE.rglob("*.py"):
        ours, others = imports_of(path)
        edges[module_name(path)] = ours
        third[module_name(path)] = others
    return edges, third


def test_every_module_has_a_rank_and_every_folder_says_what_it_holds() -> None:
    edges, _ = graph()
    for module in edges:
        assert area(module) in RANKS, f"{module}: add its folder to RANKS (and to docs/architecture.md)"
    for folder in PACKAGE.iterdir():
        if folder.is_dir() and (folder / "__init__.py").exists():
            doc = ast.get_docstring(ast.parse((folder / "__init__.py").read_text()))
            assert doc and "May import" in doc, (
                f"{folder.name}/__init__.py: say what lives there and what it may import"
            )


def test_imports_flow_one_way() -> None:
    edges, _ = graph()
    wrong = [
        f"{module} (rank {RANKS[area(module)]}) imports {target} (rank {RANKS[area(target)]})"
        for module, targets in edges.items()
        for target in targets
        if target in edges and RANKS[area(target)] > RANKS[area(module)]
    ]
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_circles() -> None:
    edges, _ = graph()
    # The package's own __init__ re-exports: edges into it from its submodules would be circles by design
    # of Python packages, so a module importing ``otel_agentperf`` itself is flagged by the rank test instead.
    state: dict[str, int] = {}
    stack: list[str] = []
    circles: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if nxt not in edges:
                continue
            if state.get(nxt) == 1:
                circles.append(" -> ".join([*stack[stack.index(nxt) :], nxt]))
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert not circles, "\n".join(circles)


def test_the_sdk_never_imports_the_cli_or_its_dependencies() -> None:
    _, third = graph()
    offenders = [
        f"{module} imports {pkg}"
        for module, pkgs in third.items()
        for pkg in pkgs
        if RANKS[area(module)] <= SDK_RANK and area(module) != "stack" and pkg in CLI_ONLY_PACKAGES
    ]
    assert not offenders, "\n".join(offenders)


def test_import_loads_no_cli_code() -> None:
    code = (
        "import sys, otel_agentperf\n"
        "bad = sorted(m for m in sys.modules if m.startswith(('rich', 'otel_agentperf.cli', 'otel_agentperf.stack')))\n"
        "print(','.join(bad))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing otel_agentperf loaded: {out}"


def test_import_and_decoration_load_no_sdk() -> None:
    """Cold start: importing us and decorating functions needs only the OpenTelemetry API. The SDK (its metrics
    package, resources, psutil: most of the import time) and the price data come with configure()/first call."""
    code = (
        "import sys, otel_agentperf as ap\n"
        "ap.trace_agent('a')(lambda: 1); ap.trace_llm(provider='openai', model='gpt-4o')(lambda: 1)\n"
        "heavy = ('opentelemetry.sdk', 'psutil', 'genai_prices', 'grpc')\n"
        "bad = sorted(m for m in sys.modules if m.startswith(heavy))\n"
        "print(','.join(bad))\n"
        "assert callable(ap.configure) and ap.AgentPerfSpanProcessor.__name__ == 'AgentPerfSpanProcessor'\n"
        "assert 'configure' in dir(ap)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "", f"importing otel_agentperf loaded: {out}"


def test_modules_stay_small() -> None:
    big = [
        f"{path.relative_to(PACKAGE.parent)}: {n} lines"
        for path in PACKAGE.rglob("*.py")
        if (n := len(path.read_text().splitlines())) > 420
    ]
    assert not big, "split these by responsibility:\n" + "\n".join(big)
