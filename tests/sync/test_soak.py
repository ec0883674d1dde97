"""The soak's short version (``make soak`` runs it for 10 minutes): 60 seconds of sales,
members, orders and web purchases under random faults, with one restore from a backup, then
nothing lost and nothing doubled on either side (bench/soak.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench.soak import Soak


@pytest.mark.slow
def test_sixty_seconds_of_faults_lose_nothing_and_double_nothing(tmp_path: Path) -> None:
    result = Soak(tmp_path, 60, seed=7).run()
    assert result["ok"], result
    assert result["sales"] > 0 and result["orders"] > 0
    assert "restore" in result["faults"]
