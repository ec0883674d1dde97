"""gunicorn's threaded worker, with a server thread only ever taken by a connection that has
bytes to read (``--worker-class edge.web.worker.ThreadWorker``).

Why: gunicorn's gthread worker hands every accepted connection to a pool thread, which waits
up to 5 s for the client's first bytes and, over TLS, then does the handshake and waits in
the request parser, with no limit, for the first request. A browser opens connections ahead
of need (Chromium's preconnect: the TLS handshake done, no request for seconds, sometimes
never), so with few threads per worker every thread sat on an idle connection and real
requests waited behind them: with 2 workers x 2 threads the screens' pages stalled over
HTTPS. This worker gives such a connection back to gunicorn's own poller instead (gthread's
``_DEFER`` path, the one it uses after its 5 s wait), where an idle socket costs no thread:

- a new connection with nothing to read yet goes to the poller at once, not after 5 s;
- over TLS, once the handshake is done, a connection whose first request has not arrived
  (nothing decrypted and buffered, nothing on the socket) goes back to the poller too;
- a kept-alive TLS connection whose next request is already decrypted in the TLS buffer
  (so that the socket itself will never look readable) is served at once;
- with several workers, a worker that holds more connections than another leaves the next
  one to it (``accept``, with the counts in ``edge.web.worker_shares``): a worker keeps the
  connections it accepts, and the one that happened to be awake took most of them. If the
  other has not taken it after ACCEPT_FALLBACK_S (busy, or gone), this one does. Without the
  counts (gunicorn run without ``edge.web.gunicorn_conf``), a worker that has just accepted
  leaves the next ones to the others for ACCEPT_PAUSE_S.

A deferred connection is closed by gunicorn after ``keepalive`` seconds (``http_keepalive``)
without a request, like any idle kept-alive one. Handshake errors go through gunicorn's own
handling (the exception is raised again inside its ``handle``). The handshake itself still
runs in a pool thread once the ClientHello has arrived, as in gunicorn.
"""

from __future__ import annotations

import select
import ssl
import time
from concurrent.futures import Future
from typing import Any

from gunicorn.workers import gthread

from edge.web.worker_shares import LEAVING, SHARES

# Without the shared counts: how long a worker that has just accepted a connection leaves the
# next ones to the others.
ACCEPT_PAUSE_S = 0.005
# With them: how often a worker that holds more connections than another looks again whether
# that one took the waiting connection, and after how long it takes the connection itself.
ACCEPT_RECHECK_S = 0.002
ACCEPT_FALLBACK_S = 0.05


def _readable(sock: Any) -> bool:
    """Whether the socket has bytes (or an EOF) to read right now, without waiting."""
    try:
        poller = select.poll()  # not select(): no limit on the descriptor's number
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True  # closed or broken: the thread's read will find out and close it


def _tls_buffered(sock: Any) -> bool:
    """Whether the TLS layer holds decrypted bytes that the socket no longer shows."""
    return isinstance(sock, ssl.SSLSocket) and sock.pending() > 0


class ThreadWorker(gthread.ThreadWorker):
    """gthread, where an idle connection (new, or TLS after its handshake) waits in the
    poller rather than in one of the worker's few threads."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.tls = bool(self.cfg.is_ssl)  # read once: gunicorn's Config looks it up each time
        self.share_accepts = self.cfg.workers > 1
        self.paused_until = 0.0
        # its slot in the shared counts, given by the master after this (gunicorn_conf.pre_fork)
        self.share_slot: int | None = None
        self.deferring: tuple[float, float] | None = None  # (since, last) leaving one to others

    def accept(self, listener: Any) -> None:
        """gunicorn's accept, when this worker holds no more connections than any other.
        A worker keeps the connections it accepted, and the one already awake took most of
        them (both of a 2-client run in 5 benchmark runs of 16): its threads then shared
        one core while the other worker idled. Otherwise it stops listening for a moment
        and looks again; the connection is still waiting after ACCEPT_FALLBACK_S: taken."""
        if not self.share_accepts:
            super().accept(listener)
            return
        if self.share_slot is None:  # no shared counts: a pause after each accept
            before = self.nr_conns
            super().accept(listener)
            if self.nr_conns > before:
                self.paused_until = time.monotonic() + ACCEPT_PAUSE_S
                self.set_accept_enabled(False)
            return
        now = time.monotonic()
        fewest = SHARES.fewest_elsewhere(self.share_slot)
        if fewest is not None and self.nr_conns > fewest:
            since = now
            if self.deferring is not None and now - self.deferring[1] < 10 * ACCEPT_RECHECK_S:
                since = self.deferring[0]  # the same waiting connection as before
            if now - since < ACCEPT_FALLBACK_S:
                self.deferring = (since, now)
                self.paused_until = now + ACCEPT_RECHECK_S
                self.set_accept_enabled(False)
                return
        self.deferring = None
        super().accept(listener)
        SHARES.publish(self.share_slot, self.nr_conns)

    def set_accept_enabled(self, enabled: bool) -> None:
        super().set_accept_enabled(enabled and time.monotonic() >= self.paused_until)

    def wait_for_and_dispatch_events(self, timeout: float) -> None:
        if self.share_slot is not None:  # connections closed since: the others see it
            SHARES.publish(self.share_slot, self.nr_conns if self.alive else LEAVING)
        left = self.paused_until - time.monotonic()  # wake up when the pause ends
        super().wait_for_and_dispatch_events(min(timeout, left) if left > 0 else timeout)

    def handle(self, conn: Any) -> Any:
        """Run in a pool thread: defer a connection with nothing to read, else gunicorn's."""
        if not conn.initialized:
            if not conn.data_ready and not _readable(conn.sock):
                return gthread._DEFER
            conn.data_ready = True  # gunicorn's handle must not wait 5 s for data again
            if self.tls:
                try:
                    conn.init()  # the TLS handshake
                except Exception as exc:  # noqa: BLE001 - handled by gunicorn's own code below
                    return super().handle(_failing_init(conn, exc))
                idle = not _tls_buffered(conn.sock) and not _readable(conn.sock)
                if idle and not conn.is_http2:
                    return gthread._DEFER
        return super().handle(conn)

    def finish_request(self, conn: Any, fs: Future[Any]) -> None:
        """On the main thread after a request: a kept-alive TLS connection whose next
        request is already decrypted is served now (the poller would never see it)."""
        if (
            self.tls
            and not fs.cancelled()
            and fs.exception() is None
            and fs.result() is True
            and self.alive
            and _tls_buffered(conn.sock)
        ):
            self.enqueue_req(conn)
            return
        super().finish_request(conn, fs)


def _failing_init(conn: Any, exc: Exception) -> Any:
    """The connection, with an ``init`` that raises the handshake's error again, so that
    gunicorn's ``handle`` logs, answers and closes it exactly as when its own init fails."""

    def init() -> None:
        raise exc

    conn.init = init
    return conn
