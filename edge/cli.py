"""The ``passerelle`` command: run the edge, manage its database, tokens and staff."""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import Any

import click

from edge.config import ConfigError, Settings, load_settings
from edge.errors import DomainError
from edge.staff import service as auth
from edge.staff.rules import ROLES, STAFF_ROLES
from edge.store import db


class Ctx:
    def __init__(self, config: str | None) -> None:
        self.config_path = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings

    def db(self) -> Any:
        try:
            return db.open_database(self.settings.db_path)
        except db.DatabaseError as exc:
            raise click.ClickException(f"database: {exc}") from exc


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar="PASSERELLE_CONFIG",
    help="TOML configuration file (or PASSERELLE_CONFIG).",
)
@click.version_option(package_name="passerelle")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Passerelle: the store's edge service for kiosks, POS terminals and printers."""
    if config:
        os.environ["PASSERELLE_CONFIG"] = str(Path(config).resolve())
    ctx.obj = Ctx(config)


def _logging(settings: Settings) -> None:
    from edge.system import logs

    # one format for every line, personal data and secrets redacted
    logs.setup(settings.log_level, settings.log_format)


def _fail(exc: DomainError) -> click.ClickException:
    return click.ClickException(exc.message)


# -- running -------------------------------------------------------------------------------------


@cli.command()
@pass_ctx
def run(ctx: Ctx) -> None:
    """API, sync worker and print worker together: the default on one store box."""
    from edge.system import runner

    _logging(ctx.settings)
    sys.exit(runner.run(ctx.settings))


@cli.command()
@pass_ctx
def serve(ctx: Ctx) -> None:
    """Only the HTTP API, under gunicorn."""
    from edge.system import runner

    _logging(ctx.settings)
    ctx.db().close()
    logging.getLogger("passerelle.serve").info(runner.api_banner(ctx.settings))
    os.execv(sys.executable, runner.gunicorn_command(ctx.settings))  # noqa: S606


@cli.command(name="worker")
@click.argument("which", type=click.Choice(["sync", "print", "jobs", "all"]))
@pass_ctx
def worker(ctx: Ctx, which: str) -> None:
    """Only background workers, without the API (for a split deployment)."""
    from edge.system import runner

    _logging(ctx.settings)
    chosen = [w for w in runner.WORKERS if which in ("all", w[0])]
    sys.exit(runner.run(ctx.settings, with_api=False, workers=chosen))


# -- database -----------------------------------------------------------------------------------


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
    conn = ctx.db()
    try:
        db.backup(conn, path)
    finally:
        conn.close()
    click.echo(f"backup written to {path}")


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
    except db.DatabaseError as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"restored {ctx.settings.db_path} from {path}")


# -- tokens and staff ---------------------------------------------------------------------------


@cli.group()
def token() -> None:
    """API tokens for terminals and integrations."""


@token.command(name="create")
@click.option("--role", required=True, type=click.Choice(ROLES))
@click.option("--name", required=True, help="Who or what holds it, e.g. pos-1 or kiosk-entrance.")
@pass_ctx
def token_create(ctx: Ctx, role: str, name: str) -> None:
    """Create a token; it is printed once, on the last line (only its hash is kept)."""
    conn = ctx.db()
    try:
        value = auth.create_token(conn, name=name, role=role)
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        conn.close()
    click.echo(f"token {name!r} with role {role} created; it is shown only now:")
    click.echo(value)


@token.command(name="revoke")
@click.argument("name")
@pass_ctx
def token_revoke(ctx: Ctx, name: str) -> None:
    """Revoke the active token NAME: refused from its next request on, kept in the list.

    The revocation is audited. The name can then be given to a new token with `token create`.
    """
    conn = ctx.db()
    try:
        auth.revoke_token(conn, name)
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        conn.close()
    click.echo(f"token {name!r} revoked")


@token.command(name="list")
@pass_ctx
def token_list(ctx: Ctx) -> None:
    """List every token: name, role, when it was created and, if so, revoked (never the value)."""
    conn = ctx.db()
    try:
        for t in auth.list_tokens(conn):
            click.echo(
                f"{t['name']:<24} {t['role']:<6} created {t['created_at']}"
                + (f"  revoked {t['revoked_at']}" if t["revoked_at"] else "")
            )
    finally:
        conn.close()


@cli.group()
def staff() -> None:
    """Staff members who log in to the screens with a PIN."""


@staff.command(name="add")
@click.option("--name", required=True)
@click.option(
    "--pin",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="4 to 12 digits (asked for when not given).",
)
@click.option("--role", type=click.Choice(STAFF_ROLES), default="staff")
@click.option("--manager", is_flag=True, help="May unlock orders locked by wrong codes.")
@click.option("--id", "staff_id", default=None, help="Staff id (default: generated).")
@pass_ctx
def staff_add(
    ctx: Ctx, name: str, pin: str, role: str, manager: bool, staff_id: str | None
) -> None:
    """Add a staff member who logs in to the screens with a PIN (asked for twice if not given).

    The PIN is kept only as a hash; the new staff id is printed.
    """
    conn = ctx.db()
    try:
        sid = auth.add_staff(
            conn, name=name, pin=pin, role=role, is_manager=manager, staff_id=staff_id
        )
    except DomainError as exc:
        raise _fail(exc) from exc
    finally:
        conn.close()
    click.echo(f"staff member {name!r} added with id {sid}")


@staff.command(name="list")
@pass_ctx
def staff_list(ctx: Ctx) -> None:
    """List the staff members: id, name, role, and whether they are a manager."""
    conn = ctx.db()
    try:
        for s in auth.list_staff(conn):
            click.echo(
                f"{s['staff_id']:<14} {s['name']:<24} {s['role']:<6}"
                + (" manager" if s["is_manager"] else "")
            )
    finally:
        conn.close()


# -- sync ----------------------------------------------------------------------------------------


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


# -- printers -----------------------------------------------------------------------------------


@cli.group()
def printer() -> None:
    """Receipt and slip printers (see [[printers]] in the configuration)."""


@printer.command(name="list")
@pass_ctx
def printer_list(ctx: Ctx) -> None:
    """Configured printers, their roles and the state the print worker last saw."""
    from edge.web.printing import printers_view

    conn = ctx.db()
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


# -- demo ---------------------------------------------------------------------------------------


@cli.command()
@click.option(
    "--tokens-file",
    type=click.Path(dir_okay=False),
    default=None,
    help="Write the demo tokens as JSON here.",
)
@pass_ctx
def demo(ctx: Ctx, tokens_file: str | None) -> None:
    """Fill the store database with demo members, products and purchases."""
    from edge.system import demo as demo_data

    conn = ctx.db()
    try:
        out = demo_data.seed(conn, ctx.settings)
    finally:
        conn.close()
    if tokens_file:
        Path(tokens_file).write_text(json.dumps(out, indent=2))
    click.echo(json.dumps(out, indent=2))


def main() -> None:
    cli(prog_name="passerelle")


if __name__ == "__main__":
    main()
