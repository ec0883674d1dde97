"""The chain run's short version: 10 simulated stores on one Mosquitto killed mid-run, two
online-store instances on one shared subscription; nothing lost, nothing applied twice.

``make chain`` runs the real thing (500 stores, the 3-node NATS cluster and Mosquitto side by
side, real edges, an edge cut off); this checks that the machinery and its counting hold.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.chain import report
from bench.chain.run import quick_options, run_chain


@pytest.mark.slow
def test_quick_chain_run_loses_nothing_and_doubles_nothing(tmp_path: Path) -> None:
    result = run_chain("mosquitto", tmp_path / "run", quick_options(), log=lambda _m: None)

    t = result.totals
    assert any("SIGKILL" in e["what"] for e in result.events)  # the fault happened
    behind = [r for r in result.per_store if r["applied"] != r["sent"]]
    assert any(e["what"] == "drained" for e in result.events), (result.events, behind)
    assert t["sent"] > 0 and t["orders_placed"] > 0
    assert t["lost"] == 0 and t["orders_lost"] == 0
    assert t["applied_twice"] == 0
    assert t["dead_letters"] == 0
    for row in result.per_store:  # per store: every event sent was applied, in order
        assert row["applied"] == row["sent"] == row["received"], row
    text = report.write([result], tmp_path / "out")
    assert "not applied when the run ended (up / web orders) | 0 / 0" in text
    assert (tmp_path / "out" / "chain.png").stat().st_size > 10_000
