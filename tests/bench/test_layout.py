"""The harness's layout holds: the edge is reached through one module, the baselines' own
processes do not load the edge, and the figures in the committed results are what
``bench.figures`` makes of them.

Fast checks on the source and on ``bench/results/latest.json``; nothing is run or timed.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

from tests.support.proc import ROOT

BENCH = ROOT / "bench"
EDGE_API = "bench.edge_api"
# Run as processes of their own and timed from spawn: loading the edge there would be
# counted against the baseline (or against the load generator's CPU).
CHILD_MODULES = ("bench.mqtt", "bench.load", "bench.baseline_app")


def imports(path: Path) -> set[str]:
    """Every module a file imports, at any depth (imports inside functions count too)."""
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


def module_name(path: Path) -> str:
    return f"bench.{path.stem}"


def test_only_edge_api_imports_the_edge_and_the_sync_worker() -> None:
    offenders = {
        module_name(path): sorted(m for m in imports(path) if m.split(".")[0] in ("edge", "sync"))
        for path in sorted(BENCH.glob("*.py"))
        if module_name(path) != EDGE_API
    }
    assert {k: v for k, v in offenders.items() if v} == {}


def test_the_baselines_processes_do_not_load_the_edge() -> None:
    """Neither the modules the child processes run nor the bench modules they import (the
    closure, within bench/) import ``bench.edge_api``."""
    for start in CHILD_MODULES:
        seen: set[str] = set()
        todo = [start]
        while todo:
            name = todo.pop()
            if name in seen:
                continue
            seen.add(name)
            path = BENCH / f"{name.split('.', 1)[1]}.py"
            if path.exists():
                todo += [m for m in imports(path) if m.startswith("bench.")]
        assert EDGE_API not in seen, f"{start} loads the edge: {sorted(seen)}"


def test_no_module_over_400_lines_and_no_class_over_200() -> None:
    for path in sorted(BENCH.glob("*.py")):
        text = path.read_text()
        assert len(text.splitlines()) <= 400, path.name
        for node in ast.walk(ast.parse(text)):
            if isinstance(node, ast.ClassDef):
                size = (node.end_lineno or node.lineno) - node.lineno + 1
                assert size <= 200, f"{path.name}: class {node.name} is {size} lines"


def test_committed_figures_are_what_bench_figures_makes_of_the_results() -> None:
    """The docs' benchmarks page is built from this file: its figures must match its own
    measurements as the harness computes them today (after a change to ``bench.figures``,
    run the benchmarks again)."""
    from bench.figures import figures

    results = json.loads((BENCH / "results" / "latest.json").read_text())
    stored = results.pop("figures")
    assert json.loads(json.dumps(figures(results), default=str)) == stored
