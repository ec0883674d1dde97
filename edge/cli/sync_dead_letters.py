"""``passerelle sync dead-letters``: the down-events that could not be applied, and what to do
with them (list, show, apply again after an upgrade or a fix, drop)."""

from __future__ import annotations

import json

import click

from edge.cli.base import Ctx, pass_ctx
from edge.cli.sync_status import sync
from edge.store import db


@sync.group(name="dead-letters")
def dead_letters() -> None:
    """Down-events refused by this store: list, show, retry, drop."""


@dead_letters.command(name="list")
@click.option("--limit", default=100, show_default=True, type=click.IntRange(1, 100000))
@click.option("--json", "as_json", is_flag=True)
@pass_ctx
def list_cmd(ctx: Ctx, limit: int, as_json: bool) -> None:
    """The dead letters, oldest first."""
    from sync import redrive

    conn = ctx.db()
    try:
        rows = redrive.listing(conn, limit)
    finally:
        conn.close()
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    if not rows:
        click.echo("no dead letters")
    for r in rows:
        click.echo(
            f"{r['dead_id']:>6}  {r['received_at']}  {r['source'] or '-'} "
            f"#{r['sequence'] if r['sequence'] is not None else '-'}  "
            f"tries {r['attempts']}  {r['reason']}"
        )


@dead_letters.command(name="show")
@click.argument("dead_id", type=int)
@pass_ctx
def show_cmd(ctx: Ctx, dead_id: int) -> None:
    """One dead letter with its payload."""
    from sync import redrive

    conn = ctx.db()
    try:
        row = redrive.get(conn, dead_id)
    finally:
        conn.close()
    if row is None:
        raise click.ClickException(f"no dead letter {dead_id}")
    click.echo(json.dumps(row, indent=2, ensure_ascii=False))


def _ids(ctx: Ctx, dead_ids: tuple[int, ...], every: bool) -> list[int]:
    if bool(dead_ids) == every:
        raise click.UsageError("name dead letter ids, or --all")
    if not every:
        return list(dead_ids)
    conn = ctx.db()
    try:
        return [int(r[0]) for r in conn.execute("SELECT dead_id FROM dead_letters ORDER BY 1")]
    finally:
        conn.close()


@dead_letters.command(name="retry")
@click.argument("dead_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every dead letter, oldest first.")
@pass_ctx
def retry_cmd(ctx: Ctx, dead_ids: tuple[int, ...], every: bool) -> None:
    """Apply dead letters again (after an upgrade that knows their type, or a fix)."""
    from sync import redrive

    ids = _ids(ctx, dead_ids, every)
    conn = ctx.db()
    failed = 0
    try:
        for dead_id in ids:
            with db.write(conn):
                res = redrive.retry(
                    conn, dead_id, store_id=ctx.settings.store_id, prefix=ctx.settings.topic_prefix
                )
            failed += res.outcome == "failed"
            click.echo(f"{dead_id}: {res.outcome}" + (f" ({res.reason})" if res.reason else ""))
    finally:
        conn.close()
    if failed:
        raise click.ClickException(f"{failed} of {len(ids)} could not be applied")


@dead_letters.command(name="drop")
@click.argument("dead_ids", nargs=-1, type=int)
@click.option("--all", "every", is_flag=True, help="Every dead letter.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def drop_cmd(ctx: Ctx, dead_ids: tuple[int, ...], every: bool, yes: bool) -> None:
    """Forget dead letters for good (their events are not applied)."""
    from sync import redrive

    ids = _ids(ctx, dead_ids, every)
    if not yes:
        click.confirm(f"drop {len(ids)} dead letter(s)?", abort=True)
    conn = ctx.db()
    try:
        with db.write(conn):
            n = redrive.drop(conn, ids)
    finally:
        conn.close()
    click.echo(f"dropped {n}")
