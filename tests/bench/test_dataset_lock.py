"""The data set's folder is made by one process at a time: a run started while another still
generates waits for it and then finds the finished set, instead of unlinking the file the
other is writing (which lost a 3 GB data set on 2026-12-05)."""

from __future__ import annotations

import fcntl
import threading
from pathlib import Path

from bench import dataset

TINY = dataset.Params(customers=200, purchase_lines=1_000, products=50)


def test_a_second_run_waits_for_the_one_generating_then_finds_its_set(tmp_path: Path) -> None:
    folder = tmp_path / "set"
    folder.mkdir()
    results: list[dict[str, object]] = []
    with open(folder / "dataset.lock", "a+b") as held:  # another process is generating
        fcntl.flock(held, fcntl.LOCK_EX)
        second = threading.Thread(
            target=lambda: results.append(dataset.ensure(folder, TINY, quiet=True))
        )
        second.start()
        second.join(timeout=1.0)
        assert second.is_alive(), "ensure() went on while another process held the folder"
        assert not (folder / "dataset.db").exists(), "it touched the file being generated"
        fcntl.flock(held, fcntl.LOCK_UN)
    second.join(timeout=120)
    assert not second.is_alive()
    assert results and results[0]["cached"] is False  # it made the set once the lock was free
    again = dataset.ensure(folder, TINY, quiet=True)
    assert again["cached"] is True and again["path"] == results[0]["path"]
