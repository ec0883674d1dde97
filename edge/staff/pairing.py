"""Kiosk pairing by a one-time code: the kiosk token never travels in a URL.

``passerelle kiosk pair-code NAME`` makes a short code for the active kiosk token NAME; the
kiosk's ``/kiosk/pair`` form POSTs it once, within its validity, and the browser's session
then holds the token's name and epoch (``edge.web.sessions``). Only the code's SHA-256 is
stored; a used or expired code pairs nothing. The form also takes the kiosk token itself (a
device that is set up by script), by POST too.
"""

from __future__ import annotations

import secrets
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from edge.errors import InvalidInput, NotFound
from edge.staff.rules import hash_token
from edge.store import audit
from edge.store.db import now_iso, write

ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # nothing to confuse: no 0/O, 1/I/L
CODE_LENGTH = 10
"""31¹⁰ ≈ 8·10¹⁴ codes: with the pairing form's rate limit, guessing one is hopeless."""
MAX_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class Paired:
    token_name: str
    epoch: str


def normalise(code: str) -> str:
    return "".join(c for c in code.upper() if c.isalnum())


def _time(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def create_code(
    conn: sqlite3.Connection, token_name: str, *, minutes: int = 15, actor: str = "cli"
) -> str:
    """A one-time pairing code for the active kiosk token ``token_name``, shown once."""
    if not 1 <= minutes <= MAX_MINUTES:
        raise InvalidInput(f"a code is valid 1 to {MAX_MINUTES} minutes", field="minutes")
    code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
    now = datetime.now(UTC)
    with write(conn):
        row = conn.execute(
            "SELECT role FROM api_tokens WHERE name = ? AND revoked_at IS NULL", (token_name,)
        ).fetchone()
        if row is None or row["role"] != "kiosk":
            raise NotFound(f"no active kiosk token named {token_name!r}", field="name")
        conn.execute(
            "INSERT INTO kiosk_pair_codes (code_hash, token_name, created_at, expires_at) "
            "VALUES (?,?,?,?)",
            (hash_token(code), token_name, _time(now), _time(now + timedelta(minutes=minutes))),
        )
        audit.record(
            conn,
            actor=actor,
            role="admin",
            action="kiosk.pair_code",
            target=token_name,
            detail={"minutes": minutes},
        )
    return f"{code[:5]}-{code[5:]}"


def redeem(conn: sqlite3.Connection, given: str) -> Paired | None:
    """The kiosk token a valid, unused code (or the kiosk token itself) stands for; the
    code is used up. None for anything else."""
    from edge.staff.service import principal_for_token

    if len(given) > 200:
        return None
    code = normalise(given)
    with write(conn):
        row = (
            conn.execute(
                "SELECT p.token_name, t.session_epoch FROM kiosk_pair_codes p "
                "JOIN api_tokens t ON t.name = p.token_name AND t.revoked_at IS NULL "
                "AND t.role = 'kiosk' WHERE p.code_hash = ? AND p.used_at IS NULL "
                "AND p.expires_at > ?",
                (hash_token(code), _time(datetime.now(UTC))),
            ).fetchone()
            if len(code) == CODE_LENGTH
            else None
        )
        if row is not None:
            conn.execute(
                "UPDATE kiosk_pair_codes SET used_at = ? WHERE code_hash = ?",
                (now_iso(), hash_token(code)),
            )
            audit.record(
                conn, actor=row["token_name"], role="kiosk", action="kiosk.paired",
                target=row["token_name"], detail={"by": "code"},
            )  # fmt: skip
            return Paired(row["token_name"], row["session_epoch"] or "")
    actor = principal_for_token(conn, given.strip())
    if actor is None or actor.role != "kiosk":
        return None
    epoch = conn.execute(
        "SELECT session_epoch FROM api_tokens WHERE name = ?", (actor.name,)
    ).fetchone()[0]
    return Paired(actor.name, epoch or "")
