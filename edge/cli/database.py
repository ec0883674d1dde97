"""``passerelle db``: migrations, online backup and restore of the store database."""

from __future__ import annotations

from pathlib import Path

import click

from edge.cli.base import Ctx, cli, pass_ctx
from edge.store import db, state
from edge.system import retention


@cli.group(name="db")
def db_group() -> None:
    """The store database: migrations, backups."""


@db_group.command()
@pass_ctx
def upgrade(ctx: Ctx) -> None:
    """Apply the migrations this version has and the database has not."""
    try:
        conn = db.connect(ctx.settings.db_path)
        applied = db.migrate(conn)
        conn.close()
    except db.DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo("applied: " + ", ".join(applied) if applied else "the database is up to date")


@db_group.command(name="backup")
@click.argument("path", type=click.Path(dir_okay=False))
@pass_ctx
def backup_cmd(ctx: Ctx, path: str) -> None:
    """Online backup to PATH, safe while the service runs."""
    conn = ctx.db(read_only=True)
    try:
        db.backup(conn, path)
    finally:
        conn.close()
    click.echo(f"backup written to {path}")
    target = Path(path)
    if target.name.startswith("passerelle-"):  # the nightly unit's folder: keep it bounded
        for old in retention.prune_backups(
            target.parent, ctx.settings.backup_retention_days, keep=target
        ):
            click.echo(f"removed {old} (older than {ctx.settings.backup_retention_days} days)")


@db_group.command(name="restore")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@pass_ctx
def restore_cmd(ctx: Ctx, path: str, yes: bool) -> None:
    """Replace the store database with a backup (stop the service first)."""
    if not yes:
        click.confirm(f"replace {ctx.settings.db_path} with {path}?", abort=True)
    try:
        db.restore(path, ctx.settings.db_path)
        conn = db.open_database(ctx.settings.db_path)
    except db.DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc
    try:
        # The backup is behind the store's own past: the sync worker publishes nothing
        # before it has taken the rest back from the online store (sync/recovery.py).
        with db.write(conn):
            state.put(conn, "recovery_pending", {"restored_from": str(path), "at": db.now_iso()})
    finally:
        conn.close()
    click.echo(
        f"restored {ctx.settings.db_path} from {path}; at its next start the sync takes back "
        "from the online store what happened after the backup, before it publishes anything"
    )
