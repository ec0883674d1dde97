"""``passerelle stock``: load shelf counts or a delivery note from a CSV, show a SKU's stock."""

from __future__ import annotations

from pathlib import Path

import click

from edge.actor import Actor
from edge.cli.base import Ctx, cli, fail, pass_ctx
from edge.errors import DomainError


@cli.group()
def stock() -> None:
    """The store's stock: on hand, held for click-and-collect orders, available."""


@stock.command(name="import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--ref", default=None, help="The delivery note's number, kept on each movement.")
@click.option(
    "--by", "by", default="cli", show_default=True, help="Who loads it (the movements' actor)."
)
@pass_ctx
def stock_import(ctx: Ctx, file: Path, ref: str | None, by: str) -> None:
    """Load FILE, a CSV: `sku,on_hand` (shelf counts: on hand becomes the figure) or
    `sku,received` (a delivery note: on hand grows). All or nothing: every bad line (unknown
    SKU, negative or not a number, a SKU twice) is reported and nothing is applied."""
    from edge.stock import service

    try:
        text = file.read_text(encoding="utf-8")
    except (UnicodeDecodeError, OSError) as exc:
        raise click.ClickException(f"{file}: cannot read it as UTF-8 text ({exc})") from exc
    conn = ctx.db()
    try:
        result = service.import_file(
            conn, text, Actor(name=by, role="admin", via="cli"), ctx.settings, ref=ref
        )
    except service.StockFileError as exc:
        for error in exc.errors:
            click.echo(f"{file}: {error}", err=True)
        raise click.ClickException(
            f"{len(exc.errors)} bad line(s): nothing was applied; fix the file and load it again"
        ) from exc
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        conn.close()
    what = "counted" if result.kind == "count" else "received"
    for m in result.moved:
        click.echo(f"{m.sku}: on hand {m.before} -> {m.after} ({m.after - m.before:+d})")
    click.echo(f"{len(result.moved)} SKU(s) {what}" + (f" (delivery note {ref})" if ref else ""))


@stock.command(name="show")
@click.argument("sku")
@click.option("--limit", default=20, show_default=True, type=click.IntRange(1, 500))
@pass_ctx
def stock_show(ctx: Ctx, sku: str, limit: int) -> None:
    """A SKU's figures here and its last movements (who, when, why)."""
    from edge.stock import views

    conn = ctx.db()
    try:
        level = views.level(conn, sku)
        moves = views.movements(conn, sku, limit=limit)
        elsewhere = views.elsewhere(conn, [sku])[sku]
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        conn.close()
    flag = "  COUNT IT: on hand is below zero" if level["needs_count"] else ""
    click.echo(
        f"{level['sku']}  {level['name']}\n"
        f"on hand {level['on_hand']}  reserved {level['reserved']}  "
        f"available {level['available']}  (version {level['version']}, "
        f"updated {level['updated_at'] or 'never'}, counted {level['counted_at'] or 'never'})"
        f"{flag}"
    )
    for other in elsewhere:
        click.echo(
            f"at {other['store_id']}: {other['available']} available ({other['updated_at']})"
        )
    if not moves:
        click.echo("no movement yet")
    for m in moves:
        why = " ".join(x for x in (m["ref"] or "", m["note"] or "") if x)
        click.echo(
            f"{m['occurred_at']}  {m['reason']:<11} {m['on_hand_delta']:+6d} on hand "
            f"{m['reserved_delta']:+5d} held  -> {m['on_hand']:>6} / {m['reserved']:<5} "
            f"{m['actor']}  {why}".rstrip()
        )
