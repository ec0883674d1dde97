"""The ``passerelle`` command: run the edge, manage its database, tokens, staff and printers.

``cli`` is the click group (``edge.cli:cli``, which the docs' CLI reference reads); each
module beside this one adds the commands of one concern to it.
"""

from __future__ import annotations

from edge.cli import (
    access,
    database,
    demo,
    printers,
    processes,
    security,
    stock,
    sync_dead_letters,
    sync_status,
)
from edge.cli.base import cli

__all__ = [
    "access",
    "cli",
    "database",
    "demo",
    "main",
    "printers",
    "processes",
    "security",
    "stock",
    "sync_dead_letters",
    "sync_status",
]


def main() -> None:
    cli(prog_name="passerelle")
