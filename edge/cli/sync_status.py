"""``passerelle sync``: the link with the online store, read from the database."""

from __future__ import annotations

import json
from typing import Any
from zoneinfo import ZoneInfo

import click

from edge.cli.base import Ctx, cli, pass_ctx
from edge.cli.processes import worker
from edge.store import state


@cli.group(invoke_without_command=True)
@click.pass_context
def sync(click_ctx: click.Context) -> None:
    """The MQTT link with the online store (without a subcommand: run the sync worker)."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(worker, which="sync")


@sync.command(name="status")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print the whole state as JSON (the same document as GET /api/v1/sync/status).",
)
@pass_ctx
def sync_status(ctx: Ctx, as_json: bool) -> None:
    """Link state, outbox backlog, sequences per stream, dead letters.

    Read-only: it reads the store database named by the configuration and never creates one.
    """
    from edge.system import status

    conn = ctx.db(read_only=True)
    try:
        st = status.sync_status(conn, ctx.settings)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    click.echo(status_text(st, ctx.settings.timezone))


def _table(rows: list[list[str]], right: frozenset[int] = frozenset()) -> list[str]:
    """Rows as columns padded to their widest cell (numbers right-aligned)."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            (cell.rjust(widths[i]) if i in right else cell.ljust(widths[i]))
            for i, cell in enumerate(row)
        ).rstrip()
        for row in rows
    ]


def local_time(iso: str | None, timezone: str) -> str:
    """A stored UTC time as a person in the store reads it: local, with its zone."""
    t = state.parse_time(iso)
    if t is None:
        return "never"
    return t.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M:%S %Z")


def status_text(st: dict[str, Any], timezone: str = "UTC") -> str:
    """``sync status`` for a person: one aligned column of values, then one row per stream."""
    link = st["link"]
    ob = st["outbox"]
    down = f"DOWN (for {int(link['offline_seconds'] or 0)} s)"
    oldest = ob["oldest_unsent_age_seconds"]
    pairs = [
        ["store", str(st["store_id"])],
        ["link", "up" if link["connected"] else down],
        ["last sync", local_time(link.get("last_sync_at"), timezone)],
        [
            "outbox",
            f"{ob['backlog']} waiting, last sequence {ob['last_sequence']}"
            + (f", oldest {int(oldest)} s" if oldest is not None else ""),
        ],
        ["waiting behind a gap", str(st["inbox"]["pending_out_of_order"])],
        ["dead letters", str(st["inbox"]["dead_letters"])],
        ["negative balances", str(st["loyalty"]["negative_balances"])],
        # the one judgement the offline policy follows (the online store's heartbeat)
        [
            "online store",
            "reachable"
            if link.get("reachable", link["connected"])
            else "UNREACHABLE (" + ", ".join(link.get("reasons") or ["link down"]) + ")",
        ],
    ]
    lines = _table(pairs)
    streams = st["inbox"]["streams"]
    if streams:
        head = [["inbox stream", "applied", "announced", "behind", "fetched by backfill"]]
        body = [
            [
                str(s["source"]),
                str(s["last_sequence"]),
                str(s["remote_sequence"]),
                str(s.get("behind", 0)),
                str(s["gaps_fetched"]),
            ]
            for s in streams
        ]
        lines += ["", *_table(head + body, right=frozenset({1, 2, 3, 4}))]
    return "\n".join(lines)
