"""Ctrl-C at a terminal, under make (issue 23): a script using ``scripts/keys.sh`` (as
``scripts/demo.sh`` does) reads Ctrl-C as a key and stops by itself, and ``make`` exits 0,
with no "make: *** [demo] Error" or "Interrupt". Without keys.sh, the terminal's SIGINT
reaches make, which ends by that signal (exit 130) whatever the script does.

A real pseudo-terminal and a real make, with a script as small as the demo's stop loop; the
demo itself, stopped by a SIGINT to its process group, is tested at the end of
tests/screens/test_walkthrough.py (one demo start for both is all the budget allows).
"""

from __future__ import annotations

import os
import pty
import select
import signal
import time
from pathlib import Path

from tests.support import proc

LOOP = """\
set -euo pipefail
source "{root}/scripts/keys.sh"
stopping=0
trap restore_tty EXIT
trap 'stopping=1' INT TERM
keys_start
echo "running (Ctrl-C stops it)"
while [ "$stopping" = 0 ]; do wait_key 0.3; done
restore_tty
echo "stopping, as asked"
"""


def _read(fd: int, until: bytes | None, timeout: float, out: list[bytes]) -> bool:
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
        if until and until in b"".join(out):
            return True
    return False


def _wait(pid: int, timeout: float) -> int:
    """make's wait status; if it has not ended by then, it is killed and the test fails
    (rather than hanging the suite)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        done, status = os.waitpid(pid, os.WNOHANG)
        if done:
            return status
        time.sleep(0.05)
    os.killpg(pid, signal.SIGKILL)
    os.waitpid(pid, 0)
    raise AssertionError(f"make did not end within {timeout} s of the Ctrl-C")


def run_under_make(tmp_path: Path, script: str) -> tuple[int, str]:
    """``make`` running ``bash script`` on a terminal; Ctrl-C typed once it runs."""
    (tmp_path / "loop.sh").write_text(script.format(root=proc.ROOT))
    (tmp_path / "Makefile").write_text("demo:\n\tbash loop.sh\n")
    pid, fd = pty.fork()
    if pid == 0:  # the child: make, on the terminal
        try:
            os.chdir(tmp_path)
            # A terminal's Ctrl-C, as a person at a shell has it: a test runner started in
            # the background (``cmd &``, nohup, some CI agents) ignores SIGINT and SIGQUIT,
            # and an ignored signal stays ignored across exec: make would never see it.
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            signal.signal(signal.SIGQUIT, signal.SIG_DFL)
            os.execvp("make", ["make", "--no-print-directory", "demo"])  # noqa: S606
        finally:
            os._exit(127)  # never back into pytest in the child
    out: list[bytes] = []
    try:
        assert _read(fd, b"Ctrl-C stops it", 30, out), b"".join(out)
        time.sleep(0.3)  # past keys_start: the terminal's keys are the script's
        os.write(fd, b"\x03")  # Ctrl-C
        _read(fd, None, 15, out)  # until the terminal closes
        status = _wait(pid, 15)
    finally:
        os.close(fd)
    return os.waitstatus_to_exitcode(status), b"".join(out).decode(errors="replace")


def test_ctrl_c_at_the_terminal_stops_the_script_and_make_exits_0(tmp_path):
    code, said = run_under_make(tmp_path, LOOP)
    assert code == 0, said
    assert "stopping, as asked" in said and "make: ***" not in said


def test_without_keys_sh_make_ends_by_the_signal(tmp_path):
    """What demo.sh did before: the terminal's SIGINT reaches make itself."""
    plain = LOOP.replace("keys_start\n", "")
    code, said = run_under_make(tmp_path, plain)
    assert code != 0, said
