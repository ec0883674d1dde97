"""A small ESC/POS network printer (port 9100 style) for the tests.

It listens on a free loopback port, keeps the bytes of each connection, answers the
real-time status requests python-escpos sends (DLE EOT 1: printer status, DLE EOT 4: paper
sensor) the way an Epson printer does, and can be taken down (connection refused), put
offline or out of paper, and brought back on the same port.
"""

from __future__ import annotations

import socket
import threading
from dataclasses import dataclass, field

DLE_EOT = b"\x10\x04"
ONLINE = 0x12  # bits 1 and 4 always set; bit 3 clear = online
OFFLINE = 0x1A  # bit 3 set
PAPER_OK = 0x12
PAPER_OUT = 0x72  # bits 5 and 6: roll end detected


@dataclass
class Received:
    """One connection's bytes, with the status requests it made."""

    data: bytearray = field(default_factory=bytearray)
    status_requests: int = 0
    closed: bool = False


class PrinterEmulator:
    def __init__(self, port: int = 0) -> None:
        self.port = port
        self.connections: list[Received] = []
        self.offline = False
        self.paper_out = False
        self.answer_status = True
        self.answers_left: int | None = None  # stop answering status after this many
        self._server: socket.socket | None = None
        self._placeholder: socket.socket | None = None
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()

    # -- control -----------------------------------------------------------------------------
    def up(self) -> PrinterEmulator:
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None
        srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        srv.bind(("127.0.0.1", self.port))
        srv.listen(8)
        srv.settimeout(0.1)
        self.port = srv.getsockname()[1]
        self._server = srv
        self._stop = threading.Event()
        t = threading.Thread(target=self._accept, args=(srv, self._stop), daemon=True)
        t.start()
        self._threads.append(t)
        return self

    def down(self) -> None:
        """Stop listening: new connections are refused, as with a printer switched off."""
        self._stop.set()
        for t in self._threads:
            t.join(timeout=5)
        self._threads.clear()
        if self._server is not None:
            self._server.close()
            self._server = None
        # Keep the port bound (not listening: connections are refused) so that no other
        # test on the machine takes it before the printer comes back on it.
        self._placeholder = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._placeholder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._placeholder.bind(("127.0.0.1", self.port))

    def close(self) -> None:
        """Down for good: the port is released."""
        self.down()
        if self._placeholder is not None:
            self._placeholder.close()
            self._placeholder = None

    # -- what was printed ----------------------------------------------------------------------
    def jobs(self) -> list[bytes]:
        """The connections that carried more than status requests (what came out on paper)."""
        with self._lock:
            return [bytes(c.data) for c in self.connections if c.closed and _printable(c.data)]

    # -- server ----------------------------------------------------------------------------------
    def _accept(self, srv: socket.socket, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                conn, _ = srv.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            rec = Received()
            with self._lock:
                self.connections.append(rec)
            t = threading.Thread(target=self._serve, args=(conn, rec, stop), daemon=True)
            t.start()

    def _serve(self, conn: socket.socket, rec: Received, stop: threading.Event) -> None:
        conn.settimeout(0.1)
        pending = b""
        try:
            while not stop.is_set():
                try:
                    chunk = conn.recv(65536)
                except TimeoutError:
                    continue
                except OSError:
                    break
                if not chunk:
                    break
                with self._lock:
                    rec.data.extend(chunk)
                pending += chunk
                while DLE_EOT in pending:
                    i = pending.index(DLE_EOT)
                    if len(pending) < i + 3:
                        break
                    n = pending[i + 2]
                    pending = pending[i + 3 :]
                    rec.status_requests += 1
                    if self.answers_left is not None:
                        if self.answers_left <= 0:
                            continue
                        self.answers_left -= 1
                    if self.answer_status:
                        conn.sendall(bytes([self._status(n)]))
                pending = pending[-2:]
        finally:
            conn.close()
            with self._lock:
                rec.closed = True

    def _status(self, n: int) -> int:
        if n == 1:
            return OFFLINE if self.offline else ONLINE
        if n == 4:
            return PAPER_OUT if self.paper_out else PAPER_OK
        return 0x12


def _printable(data: bytes | bytearray) -> bool:
    return b"\x1dV" in data  # a job ends with a cut
