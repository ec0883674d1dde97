"""``passerelle printer``: the configured printers, their state, a test page."""

from __future__ import annotations

import click

from edge.cli.base import Ctx, cli, pass_ctx


@cli.group()
def printer() -> None:
    """Receipt and slip printers (see [[printers]] in the configuration)."""


@printer.command(name="list")
@pass_ctx
def printer_list(ctx: Ctx) -> None:
    """Configured printers, their roles and the state the print worker last saw."""
    from edge.web.printing import printers_view

    conn = ctx.db(read_only=True)
    try:
        view = printers_view(conn, ctx.settings)
    finally:
        conn.close()
    if not view.items:
        click.echo("no printer configured (add [[printers]] to the configuration)")
    for p in view.items:
        state = (
            "not checked yet" if p.ok is None else ("ok" if p.ok else f"FAILING: {p.last_error}")
        )
        click.echo(
            f"{p.name:<16} {p.connection:<8} {p.target:<24} {p.width} chars  "
            f"roles {','.join(p.roles) or '-'}  {p.open_jobs} open job(s)  {state}"
        )
    for role in view.unassigned_roles:
        click.echo(f"role {role}: no printer; its jobs wait")


@printer.command(name="test")
@click.argument("name")
@click.option("--locale", type=click.Choice(["fr", "en"]), default=None)
@pass_ctx
def printer_test(ctx: Ctx, name: str, locale: str | None) -> None:
    """Print a test page now: every French accented letter, €, a QR code, the cut."""
    from hardware import printers as hw

    settings = ctx.settings
    cfg = next((p for p in settings.printers if p.name == name), None)
    if cfg is None:
        known = ", ".join(p.name for p in settings.printers) or "none"
        raise click.ClickException(f"no printer named {name!r} (configured: {known})")
    from hardware.render import Renderer

    renderer = Renderer(
        locale=locale or settings.locale,
        width=cfg.width,
        profile=cfg.profile,
        codepage=cfg.codepage,
        currency=settings.currency,
        timezone=settings.timezone,
    )
    data = {
        "store_name": settings.store_name,
        "printer": cfg.name,
        "width": cfg.width,
        "codepage": renderer.codepage,
        "sample": 1234567,
        "ruler": ("1234567890" * 7)[: cfg.width],
    }
    payload = renderer.render("test_page", data)
    try:
        with hw.Link(cfg) as link:
            status = link.check()
            link.send(payload)
            link.confirm()
    except hw.PrinterError as exc:
        raise click.ClickException(f"printer {name}: {exc.message}") from exc
    paper = f", paper {status.paper}" if status.paper else ""
    click.echo(
        f"test page sent to {name} ({hw.describe(cfg)}): {len(payload)} bytes, "
        f"code page {renderer.codepage}{paper}"
    )
