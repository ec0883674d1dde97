"""A real Mosquitto for the tests: started on a free port, killed and restarted at will.

Never a mock: the faults we guard against (queue limits, lost sessions, redelivery) are the
broker's own behaviour.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from pathlib import Path

from bench.chain.brokers import free_port

__all__ = ["Broker", "free_port", "wait_port"]


def wait_port(port: int, timeout: float = 10.0, host: str = "127.0.0.1") -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection((host, port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on {host}:{port} after {timeout} s")


def mosquitto_binary() -> str:
    path = shutil.which("mosquitto") or (
        "/usr/sbin/mosquitto" if Path("/usr/sbin/mosquitto").exists() else None
    )
    if not path:
        raise RuntimeError(
            "mosquitto is not installed: run the README's test command (scripts/test.sh), "
            "which installs it, or: sudo apt-get install mosquitto"
        )
    return path


class Broker:
    """One Mosquitto process with its own config, persistence folder and log."""

    def __init__(
        self,
        workdir: Path,
        *,
        port: int | None = None,
        extra: str = "",
        persistence: bool = True,
        max_queued: int | None = None,
    ) -> None:
        self.workdir = workdir
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.extra = extra
        self.persistence = persistence
        self.max_queued = max_queued
        self.proc: subprocess.Popen[bytes] | None = None
        self.conf = self.workdir / "mosquitto.conf"
        self.log = self.workdir / "mosquitto.log"

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def write_conf(self) -> None:
        lines = [
            f"listener {self.port} 127.0.0.1",
            "allow_anonymous true",
            f"persistence {'true' if self.persistence else 'false'}",
            f"persistence_location {self.workdir}/",
            "autosave_interval 1",
            f"log_dest file {self.log}",
            "log_type error",
            "log_type warning",
            "log_type notice",
            "persistent_client_expiration 14d",
        ]
        if os.geteuid() == 0 and "user " not in self.extra:
            # Started as root, Mosquitto drops to the `mosquitto` user, which cannot write
            # into pytest's private tmp folders: it would silently keep no persistence file
            # (sessions lost across a restart) and no log. Stay root in the tests.
            lines.append("user root")
        if self.max_queued is not None:
            lines.append(f"max_queued_messages {self.max_queued}")
        if self.extra:
            lines.append(self.extra)
        self.conf.write_text("\n".join(lines) + "\n")

    def start(self) -> Broker:
        self.write_conf()
        self.proc = subprocess.Popen(
            [mosquitto_binary(), "-c", str(self.conf)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        try:
            wait_port(self.port)
        except TimeoutError:
            self.proc.kill()
            err = self.proc.stderr.read().decode() if self.proc.stderr else ""
            if self.log.exists():  # Mosquitto writes its errors there (log_dest file)
                err += self.log.read_text(errors="replace")[-1000:]
            raise RuntimeError(f"mosquitto did not start on port {self.port}: {err}") from None
        return self

    def stop(self) -> None:
        """A clean stop: Mosquitto saves its persistence file."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=10)
        self._close()

    def kill(self) -> None:
        """A crash: SIGKILL, nothing saved since the last autosave."""
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self.proc and self.proc.stderr:
            self.proc.stderr.close()

    def restart(self) -> Broker:
        self.stop()
        return self.start()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None
