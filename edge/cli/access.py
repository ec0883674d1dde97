"""``passerelle token|staff``: API tokens for terminals and staff who log in by PIN."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

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
    help="4 to 12 digits, 6 at least for an admin or a manager (asked for when not given).",
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
    """List the staff members: id, name, role, whether they are a manager, disabled, or
    locked, and their wrong PINs in a row."""
    conn = ctx.db(read_only=True)
    try:
        for s in auth.list_staff(conn):
            click.echo(
                f"{s['staff_id']:<14} {s['name']:<24} {s['role']:<6}"
                + (" manager" if s["is_manager"] else "")
                + (f" disabled {s['disabled_at']}" if s["disabled_at"] else "")
                + (f" LOCKED {s['locked_at']}" if s["locked_at"] else "")
                + (f" wrong-pins={s['failed_pins']}" if s["failed_pins"] else "")
            )
    finally:
        conn.close()


def _staff_change(ctx: Ctx, change: Callable[[sqlite3.Connection], None], done: str) -> None:
    conn = ctx.db()
    try:
        change(conn)
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        conn.close()
    click.echo(done)


@staff.command(name="disable")
@click.argument("staff_id")
@pass_ctx
def staff_disable(ctx: Ctx, staff_id: str) -> None:
    """Disable STAFF_ID: their PIN stops working and every screen they are logged in on is
    logged out at its next request. Audited; the member stays in the list."""
    _staff_change(
        ctx,
        lambda conn: auth.disable_staff(conn, staff_id),
        f"staff member {staff_id} disabled; their sessions have ended",
    )


@staff.command(name="set-pin")
@click.argument("staff_id")
@click.option(
    "--pin",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="The new PIN (asked for twice when not given).",
)
@pass_ctx
def staff_set_pin(ctx: Ctx, staff_id: str, pin: str) -> None:
    """Give STAFF_ID a new PIN: clears their wrong-PIN count and lock, ends their sessions."""
    _staff_change(
        ctx,
        lambda conn: auth.set_pin(conn, staff_id, pin),
        f"new PIN set for {staff_id}; their sessions have ended",
    )


@staff.command(name="unlock")
@click.argument("staff_id")
@pass_ctx
def staff_unlock(ctx: Ctx, staff_id: str) -> None:
    """Lift the lock of STAFF_ID after too many wrong PINs (check with them first: the wrong
    PINs are in the audit log, action staff.pin_failed)."""
    _staff_change(ctx, lambda conn: auth.unlock_staff(conn, staff_id), f"{staff_id} unlocked")
