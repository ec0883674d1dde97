"""The benchmark harness still runs: a tiny end-to-end pass (1,000 members, 1 s phases).

It checks that every phase ran and that the figures are there, never how fast anything was:
speed is the harness's business (``make bench``), not the test suite's.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.proc import ROOT, env


@pytest.mark.slow
def test_quick_run_measures_every_phase_and_writes_results(tmp_path: Path) -> None:
    out = tmp_path / "results"
    proc = subprocess.run(
        [sys.executable, "-m", "bench", "--quick", "--out", str(out), "--data", str(tmp_path)],
        cwd=ROOT,
        env=env(),
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = json.loads((out / "latest.json").read_text())
    assert len(list(out.glob("*-quick.json"))) == 1

    assert results["dataset"]["rows"]["customers"] == 1000
    assert results["dataset"]["rows"]["purchase_lines"] == 10_000
    for side in ("with_stock", "without_stock"):  # issue 17: stock on a sale, side by side
        assert results["stock"][side]["requests"] > 0 and results["stock"][side]["errors"] == 0
    for phase in ("lookup", "sale"):
        for side in ("edge", "baseline"):
            run = results[phase][side]
            assert run["requests"] > 0, (phase, side, run)
        assert results[phase]["edge"]["errors"] == 0, results[phase]["edge"]
    assert results["lookup"]["baseline"]["errors"] == 0
    roles = {p["role"] for p in results["lookup"]["footprint"]["edge"]}
    assert {"passerelle run", "gunicorn master", "gunicorn worker"} <= roles
    assert results["cold_start"]["edge_ready_s"]

    if "edge_rate" in results["catchup"]:
        assert results["catchup"]["edge_recorded"] == results["catchup"]["events"]
        assert results["catchup"]["edge_dead_letters"] == 0
        assert results["drain"]["edge_left_unsent"] == 0
        assert (
            results["sale"]["to_broker"]["acknowledged"] == results["sale"]["to_broker"]["events"]
        )

    names = [f["name"] for f in results["figures"]]
    for name in ("lookup+history p99", "sale p99", "cold start to ready"):
        assert name in names
        assert name in proc.stdout  # the printed table
