"""The API's workers share their connection counts (``edge.web.worker_shares``), and the
next connection goes to the worker that holds the fewest: terminals that connect one after
the other spread evenly over the workers, whatever the gaps between them."""

from __future__ import annotations

import socket
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from edge.web.worker_shares import LEAVING, Shares
from tests.support import proc
from tests.support.broker import free_port, wait_port
from tests.web.test_tls_worker import OURS, THREADS, _Clock, _Selector, ask_pid

CONNECTIONS = 12
GAP_S = 0.02  # longer than the old pause after an accept (ACCEPT_PAUSE_S): it did not help


def test_the_table_counts_only_the_other_workers_in_use() -> None:
    shares = Shares()
    a, b, c = shares.claim(), shares.claim(), shares.claim()
    assert (a, b, c) == (0, 1, 2)
    assert shares.fewest_elsewhere(0) == 0  # the others start with none
    shares.publish(0, 3)
    shares.publish(1, 5)
    shares.publish(2, 4)
    assert shares.fewest_elsewhere(0) == 4
    assert shares.fewest_elsewhere(2) == 3
    shares.publish(1, LEAVING)  # stopping (a graceful reload): never left a connection
    assert shares.fewest_elsewhere(0) == 4
    shares.publish(1, 5)
    shares.free(0)  # exited: its count no longer counts, and its slot is given again
    assert shares.fewest_elsewhere(2) == 5
    assert shares.claim() == 0
    assert shares.fewest_elsewhere(1) == 0


def one_by_one(port: int) -> list[str] | None:
    """Open CONNECTIONS connections one after the other, each asking which worker answers;
    the workers in order, or None if the two were ever more than one connection apart."""
    held: list[socket.socket] = []
    try:
        order: list[str] = []
        for _ in range(CONNECTIONS):
            s = socket.create_connection(("127.0.0.1", port), timeout=10)
            held.append(s)
            order.append(ask_pid(s))
            counts = Counter(order)
            if len(counts) > 2 or max(counts.values()) - min(counts.values(), default=0) > 1:
                return None
            if len(counts) == 1 and len(order) > 1:
                return None
            time.sleep(GAP_S)
        return order
    finally:
        for s in held:
            s.close()


def test_connections_opened_one_by_one_spread_evenly(tmp_path: Path) -> None:
    """Two real workers under the edge's gunicorn settings: at every step the two hold the
    same number of connections, give or take one. Left to the kernel, each connection went
    to either worker, and a run of 12 stayed that even about once in 60 (a random walk);
    a busy box can still delay the worker whose turn it is past ACCEPT_FALLBACK_S, so a run
    that was not even is tried again, up to three times."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--threads", str(THREADS), "--worker-class", OURS, "--no-control-socket",
        "--keep-alive", "60", "--config", "python:edge.web.gunicorn_conf",
        "tests.web.test_tls_worker:whose",
    ]  # fmt: skip
    p = proc.start(cmd, proc.env(db_path=tmp_path / "unused.db"), tmp_path / "gunicorn.log")
    try:
        wait_port(port, timeout=30)
        runs: list[list[str] | None] = []
        while len(runs) < 3 and not any(runs):
            time.sleep(1.2)  # the workers have seen the last run's connections close
            runs.append(one_by_one(port))
        assert any(runs), f"connections opened one by one did not spread evenly: {runs}"
    finally:
        p.terminate()
        p.wait(timeout=30)


def test_a_worker_holding_more_leaves_the_connection_then_takes_it_if_left_waiting(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A worker holding more connections than another does not accept: it stops listening
    for ACCEPT_RECHECK_S and looks again; if the connection is still waiting after
    ACCEPT_FALLBACK_S (the other worker busy, or stopped), it takes it and says so in the
    shared counts. Holding no more than the others, it accepts at once."""
    from gunicorn.config import Config

    from edge.web import worker as worker_mod

    clock = _Clock()
    shares = Shares()
    monkeypatch.setattr(worker_mod, "time", clock)
    monkeypatch.setattr(worker_mod, "SHARES", shares)
    mine, other = shares.claim(), shares.claim()
    assert mine is not None and other is not None
    listener = socket.create_server(("127.0.0.1", 0))
    client = socket.create_connection(listener.getsockname())
    try:
        cfg = Config()
        cfg.set("workers", 2)
        w = worker_mod.ThreadWorker.__new__(worker_mod.ThreadWorker)
        w.cfg, w.sockets, w.nr_conns, w._accepting = cfg, [listener], 1, False
        w.share_accepts, w.paused_until, w.share_slot, w.deferring = True, 0.0, mine, None
        w.alive = True
        w.poller = _Selector()
        queued: list[Any] = []
        w.enqueue_req = queued.append
        shares.publish(other, 0)  # the other worker holds none, this one holds one

        w.set_accept_enabled(True)
        w.accept(listener)
        assert not queued and not w._accepting  # left to the other
        w.wait_for_and_dispatch_events(1.0)  # wakes up to look again
        assert w.poller.timeouts == [pytest.approx(worker_mod.ACCEPT_RECHECK_S)]
        while clock.now < 1000.0 + worker_mod.ACCEPT_FALLBACK_S - worker_mod.ACCEPT_RECHECK_S:
            clock.now += worker_mod.ACCEPT_RECHECK_S
            w.set_accept_enabled(True)
            assert w._accepting
            w.accept(listener)  # still waiting: the other has not taken it
            assert not queued
        clock.now += worker_mod.ACCEPT_RECHECK_S
        w.set_accept_enabled(True)
        w.accept(listener)
        assert len(queued) == 1 and w.nr_conns == 2  # left waiting too long: taken
        assert shares.fewest_elsewhere(other) == 2  # and the others know

        shares.publish(other, 2)  # now even: the next one is taken at once
        second = socket.create_connection(listener.getsockname())
        try:
            w.set_accept_enabled(True)
            w.accept(listener)
            assert len(queued) == 2
        finally:
            second.close()
        w.alive = False  # stopping (a graceful reload): the others no longer leave it any
        w.wait_for_and_dispatch_events(0.0)
        assert shares.fewest_elsewhere(other) is None
        w.poller.close()
    finally:
        client.close()
        listener.close()
