"""``passerelle sync``: the link with the online store, read from the database."""

from __future__ import annotations

import json

import click

from edge.cli.base import Ctx, cli, pass_ctx
from edge.cli.processes import worker


@cli.group(invoke_without_command=True)
@click.pass_context
def sync(click_ctx: click.Context) -> None:
    """The MQTT link with the online store (without a subcommand: run the sync worker)."""
    if click_ctx.invoked_subcommand is None:
        click_ctx.invoke(worker, which="sync")


@sync.command(name="status")
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def sync_status(ctx: Ctx, as_json: bool) -> None:
    """Link state, outbox backlog, sequences per stream, dead letters."""
    from edge.system import status

    conn = ctx.db()
    try:
        st = status.sync_status(conn, ctx.settings)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(st, indent=2))
        return
    link = st["link"]
    click.echo(f"store          {st['store_id']}")
    click.echo(
        f"link           {'up' if link['connected'] else 'DOWN'}"
        + (f" (down for {int(link['offline_seconds'] or 0)} s)" if not link["connected"] else "")
    )
    click.echo(f"last sync      {link.get('last_sync_at') or 'never'}")
    ob = st["outbox"]
    click.echo(
        f"outbox         {ob['backlog']} waiting, last sequence {ob['last_sequence']}"
        + (
            f", oldest {int(ob['oldest_unsent_age_seconds'])} s"
            if ob["oldest_unsent_age_seconds"] is not None
            else ""
        )
    )
    for s in st["inbox"]["streams"]:
        click.echo(
            f"inbox {s['source']:<24} applied {s['last_sequence']}, announced "
            f"{s['remote_sequence']}, fetched by backfill {s['gaps_fetched']}"
        )
    click.echo(f"waiting behind a gap {st['inbox']['pending_out_of_order']}")
    click.echo(f"dead letters   {st['inbox']['dead_letters']}")
    click.echo(f"negative balances {st['loyalty']['negative_balances']}")
