"""``make demo`` at a terminal, then Ctrl-C (issue 23): the demo stops quietly, within 3 s,
and make itself exits 0 — no "make: *** [demo] Error 1", no "Worker was sent SIGKILL".

A real pseudo-terminal: the demo reads Ctrl-C as a key there (its parts never see the
terminal's SIGINT). The other path, a SIGINT sent to the demo's process group, is tested at
the end of tests/screens/test_walkthrough.py.
"""

from __future__ import annotations

import os
import pty
import select
import time

import pytest

from tests.support import demo as demo_support
from tests.support import proc

pytestmark = pytest.mark.slow


def _read(fd: int, until: str | None, timeout: float, out: list[bytes]) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.1)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 65536)
        except OSError:  # the terminal's other side is gone: everything has exited
            return False
        if not chunk:
            return False
        out.append(chunk)
        if until and until.encode() in b"".join(out):
            return True
    return False


def test_ctrl_c_at_the_terminal_stops_make_demo_quietly(tmp_path):
    env = demo_support.environ(tmp_path / "demo-data")
    pid, fd = pty.fork()
    if pid == 0:  # the child: make demo, on the terminal
        os.chdir(proc.ROOT)
        try:
            os.execvpe("make", ["make", "--no-print-directory", "demo"], env)  # noqa: S606
        finally:
            os._exit(127)  # never back into pytest in the child
    out: list[bytes] = []
    try:
        assert _read(fd, demo_support.READY, 120, out), b"".join(out).decode(errors="replace")
        _read(fd, None, 0.5, out)  # the banner's end
        before = len(b"".join(out))
        started = time.monotonic()
        os.write(fd, b"\x03")  # Ctrl-C
        _read(fd, None, 15, out)  # until the terminal closes
        _, status = os.waitpid(pid, 0)
        took = time.monotonic() - started
    finally:
        os.close(fd)
    said = b"".join(out)[before:].decode(errors="replace")
    assert os.waitstatus_to_exitcode(status) == 0, said
    assert took < 3.0, (took, said)
    assert [ln for ln in said.splitlines() if demo_support.TROUBLE.search(ln)] == [], said
    assert "stopping the demo" in said and "make: ***" not in said
