"""``passerelle token|staff``: API tokens for terminals and staff who log in by PIN."""

from __future__ import annotations

import click

from edge.cli.base import Ctx, cli, fail, pass_ctx
from edge.errors import DomainError
from edge.staff import service as auth
from edge.staff.rules import ROLES, STAFF_ROLES


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
        raise fail(exc) from exc
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
        raise fail(exc) from exc
    finally:
        conn.close()
    click.echo(f"token {name!r} revoked")


@token.command(name="list")
@pass_ctx
def token_list(ctx: Ctx) -> None:
    """List every token: name, role, when it was created and, if so, revoked (never the value)."""
    conn = ctx.db(read_only=True)
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
        raise fail(exc) from exc
    finally:
        conn.close()
    click.echo(f"staff member {name!r} added with id {sid}")


@staff.command(name="list")
@pass_ctx
def staff_list(ctx: Ctx) -> None:
    """List the staff members: id, name, role, and whether they are a manager."""
    conn = ctx.db(read_only=True)
    try:
        for s in auth.list_staff(conn):
            click.echo(
                f"{s['staff_id']:<14} {s['name']:<24} {s['role']:<6}"
                + (" manager" if s["is_manager"] else "")
            )
    finally:
        conn.close()
