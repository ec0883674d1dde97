"""``scripts/demo.sh`` as a newcomer runs it, for the tests: on free ports, its data in a
temp folder, the Python environment of the tests (so setup.sh installs nothing)."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass
from pathlib import Path

from tests.support import proc
from tests.support.broker import free_port

READY = "Ctrl-C stops it"  # the demo's banner, printed once every part answers
# What must never be printed when the user stops the demo: a line at a level that means
# trouble, the script's own "Error: …", a Python traceback, bash's "Killed" of a part.
TROUBLE = re.compile(r"\b(ERROR|WARNING|CRITICAL)\b|Error:|Traceback|Killed|Terminated")


def environ(data: Path) -> dict[str, str]:
    env = proc.env()
    env.update(
        PASSERELLE_VENV=sys.prefix,  # the environment running the tests (scripts/setup.sh)
        DEMO_DATA=str(data),
        DEMO_EDGE_PORT=str(free_port()),
        DEMO_WEB_PORT=str(free_port()),
    )
    return env


@dataclass
class Output:
    """What the demo printed, and the addresses in it."""

    text: str

    def find(self, pattern: str) -> str:
        m = re.search(pattern, self.text)
        assert m, f"the demo did not print {pattern!r}:\n{self.text}"
        return m.group(1)

    @property
    def kiosk_pairing(self) -> str:
        return self.find(r"(https?://\S+/kiosk/pair\?\w+=\S+)")

    @property
    def edge(self) -> str:
        return self.kiosk_pairing.split("/kiosk/")[0]

    @property
    def web(self) -> str:
        return self.find(r"Online store \(web\)\s+(https?://[^/\s]+)").rstrip("/")
