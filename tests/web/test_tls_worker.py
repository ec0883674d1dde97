"""The API's gunicorn worker (``edge.web.worker.ThreadWorker``) keeps no thread on an idle
TLS connection (issue 21): a browser's preconnected sockets (handshake done, no request yet)
once held every thread of a 2-thread worker, and the screens stalled over HTTPS.

With as many idle TLS connections held as the worker has threads, a request on a new
connection is answered, and the idle ones are still served when their request comes. Stock
gthread is run too: there the same new request is never answered (each thread waits in the
request parser of an idle connection), which shows the test tells the two apart; if a
gunicorn release stops stalling, that test fails and our worker class can go.

And with two workers, two connections opened together go to the two workers (one each),
not both to whichever worker was awake first.
"""

from __future__ import annotations

import os
import selectors
import socket
import ssl
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.cli import cli
from tests.support import proc
from tests.support.broker import free_port, wait_port

THREADS = 2
OURS = "edge.web.worker.ThreadWorker"


def hello(_environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """The smallest WSGI app: the worker, not the app, is under test."""
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "5")])
    return [b"hello"]


def whose(_environ: dict[str, Any], start_response: Callable[..., Any]) -> list[bytes]:
    """Which worker process answered."""
    pid = str(os.getpid()).encode()
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(pid)))])
    return [pid]


@pytest.fixture(scope="module")
def cert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("tls-worker")
    r = CliRunner().invoke(cli, ["tls", "init", "--out", str(d / "tls")])
    assert r.exit_code == 0, r.output
    return d / "tls"


def serve(cert: Path, worker_class: str, log: Path) -> Iterator[int]:
    port = free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "1",
        "--threads", str(THREADS), "--worker-class", worker_class, "--no-control-socket",
        "--keep-alive", "60", "--graceful-timeout", "5",  # idle ones stay open all the test
        "--certfile", str(cert / "tls_cert"), "--keyfile", str(cert / "tls_key"),
        "tests.web.test_tls_worker:hello",
    ]  # fmt: skip
    p = proc.start(cmd, proc.env(), log)
    try:
        wait_port(port, timeout=30)
        yield port
    finally:
        p.terminate()
        p.wait(timeout=30)


def idle_tls(port: int) -> ssl.SSLSocket:
    """A connection that completed its TLS handshake and sends nothing (a preconnect)."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    return ctx.wrap_socket(raw, server_hostname="127.0.0.1")


def get(tls: ssl.SSLSocket, timeout: float) -> bytes:
    """One request on ``tls``: the answer's bytes, or TimeoutError when none comes."""
    tls.settimeout(timeout)
    tls.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while not answer.endswith(b"hello"):
        chunk = tls.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer


def held_then_new(port: int, timeout: float) -> tuple[list[ssl.SSLSocket], bytes]:
    """Hold one idle TLS connection per thread, then ask on a new one."""
    held = [idle_tls(port) for _ in range(THREADS)]
    fresh = idle_tls(port)
    try:
        return held, get(fresh, timeout)
    except BaseException:
        for s in held:
            s.close()
        raise
    finally:
        fresh.close()


def test_idle_tls_connections_hold_no_thread(cert: Path, tmp_path: Path) -> None:
    for port in serve(cert, OURS, tmp_path / "ours.log"):
        held, answer = held_then_new(port, timeout=20)
        try:
            assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b"hello")
            for s in held:  # the deferred connections are served once they ask
                assert get(s, timeout=20).endswith(b"hello")
                assert get(s, timeout=20).endswith(b"hello")  # and kept alive
        finally:
            for s in held:
                s.close()


def test_stock_gthread_stalls_there(cert: Path, tmp_path: Path) -> None:
    """What the worker class is for; a gunicorn that passes this no longer needs it."""
    for port in serve(cert, "gthread", tmp_path / "stock.log"):
        with pytest.raises(TimeoutError):
            held, _answer = held_then_new(port, timeout=3)
            for s in held:
                s.close()


def ask_pid(sock: socket.socket) -> str:
    sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
    answer = b""
    while b"\r\n\r\n" not in answer or not answer.split(b"\r\n\r\n", 1)[1]:
        chunk = sock.recv(4096)
        if not chunk:
            break
        answer += chunk
    return answer.split(b"\r\n\r\n", 1)[1].decode()


def pids_of_a_pair(port: int) -> list[str]:
    """The workers that answer two connections opened one right after the other."""
    pair = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(2)]
    try:
        return [ask_pid(s) for s in pair]
    finally:
        for s in pair:
            s.close()


def test_connections_opened_together_go_to_both_workers(tmp_path: Path) -> None:
    """Two real workers: pairs of connections opened together mostly go one to each.

    Which worker takes a connection is up to the kernel and the scheduler, so the split is
    a matter of chance on a busy box: ours split 20 of 20 pairs in each of six rounds on a
    quiet box, 17-18 of 20 during a full CI run; stock gthread 9 to 16 of 20, once 19. This
    test therefore only checks what no load explains away: that both workers go on taking
    connections while they pause after each (a pause that never ended, or a worker that
    stopped accepting, splits no pair). The pause itself is checked exactly, with a fake
    clock, by ``test_a_worker_that_accepted_leaves_the_next_connection_to_the_others``."""
    port = free_port()
    cmd = [
        sys.executable, "-m", "gunicorn", "--bind", f"127.0.0.1:{port}", "--workers", "2",
        "--threads", str(THREADS), "--worker-class", OURS, "--no-control-socket",
        "tests.web.test_tls_worker:whose",
    ]  # fmt: skip
    p = proc.start(cmd, proc.env(), tmp_path / "gunicorn.log")
    try:
        wait_port(port, timeout=30)
        seen: set[str] = set()
        deadline = time.monotonic() + 30
        while len(seen) < 2 and time.monotonic() < deadline:  # both workers are up
            seen |= set(pids_of_a_pair(port))
        splits: list[int] = []
        while len(splits) < 3 and max(splits, default=0) < 10:
            splits.append(sum(len(set(pids_of_a_pair(port))) == 2 for _ in range(20)))
        assert max(splits) >= 10, f"pairs of 20 split over the two workers: {splits}"
    finally:
        p.terminate()
        p.wait(timeout=30)


class _Clock:
    """``edge.web.worker``'s view of ``time``: a monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def monotonic(self) -> float:
        return self.now


class _Selector(selectors.SelectSelector):
    """The worker's poller, noting how long each wait was asked to last (and not waiting)."""

    def __init__(self) -> None:
        super().__init__()
        self.timeouts: list[float | None] = []

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        self.timeouts.append(timeout)
        return super().select(0)


def test_a_worker_that_accepted_leaves_the_next_connection_to_the_others(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Without the shared counts (gunicorn run without the edge's settings file), with other
    workers on the socket, a worker that accepted a connection stops listening
    for ACCEPT_PAUSE_S (the next connection goes to another worker), wakes up when the pause
    ends, and listens again then; alone, it never pauses."""
    from gunicorn.config import Config

    from edge.web import worker as worker_mod

    clock = _Clock()
    monkeypatch.setattr(worker_mod, "time", clock)
    listener = socket.create_server(("127.0.0.1", 0))
    clients: list[socket.socket] = []
    try:
        for workers in (2, 1):
            cfg = Config()
            cfg.set("workers", workers)
            w = worker_mod.ThreadWorker.__new__(worker_mod.ThreadWorker)
            w.cfg, w.sockets, w.nr_conns, w._accepting = cfg, [listener], 0, False
            w.share_accepts, w.paused_until = workers > 1, 0.0
            w.share_slot, w.deferring = None, None  # run without the shared counts
            w.poller = poller = _Selector()
            queued: list[Any] = []
            w.enqueue_req = queued.append

            w.set_accept_enabled(True)
            assert w._accepting
            clients.append(socket.create_connection(listener.getsockname()))
            w.accept(listener)
            assert len(queued) == 1
            if workers == 1:
                assert w._accepting  # alone: no one else to leave it to
                continue
            assert not w._accepting  # paused: the next connection is another worker's
            w.set_accept_enabled(True)  # gunicorn's loop asks again at once: still paused
            assert not w._accepting
            w.wait_for_and_dispatch_events(1.0)  # it wakes up when the pause ends
            assert poller.timeouts == [pytest.approx(worker_mod.ACCEPT_PAUSE_S)]
            clock.now += worker_mod.ACCEPT_PAUSE_S
            w.set_accept_enabled(True)
            assert w._accepting
            w.poller.close()
    finally:
        for c in clients:
            c.close()
        listener.close()
