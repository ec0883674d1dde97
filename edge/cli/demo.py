"""``passerelle demo``: fill a store database with demo members, products and purchases."""

from __future__ import annotations

import json
from pathlib import Path

import click

from edge.cli.base import Ctx, cli, pass_ctx


@cli.command()
@click.option(
    "--tokens-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the demo tokens as JSON here.",
)
@pass_ctx
def demo(ctx: Ctx, tokens_file: str | None) -> None:
    """Fill the store database with demo members, products and purchases.

    Only a new database, or one this command made: it refuses any other (the demo adds an
    admin whose PIN is in the README)."""
    from edge.system import demo as demo_data

    conn = ctx.db()
    try:
        out = demo_data.seed(conn, ctx.settings)
    except demo_data.NotADemoDatabase as exc:
        raise click.ClickException(f"{ctx.settings.db_path}: {exc}") from exc
    finally:
        conn.close()
    if tokens_file:
        Path(tokens_file).write_text(json.dumps(out, indent=2))
    click.echo(json.dumps(out, indent=2))
