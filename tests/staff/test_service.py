"""Tokens and staff in a database: stored hashed, revoked for good, PINs checked slowly."""

from __future__ import annotations

import pytest

from edge.errors import Conflict, InvalidInput, NotFound
from edge.staff import service as staff
from edge.staff.rules import hash_token


def test_a_token_is_stored_as_its_hash_and_names_its_caller(conn):
    token = staff.create_token(conn, name="till-1", role="pos", actor="test")
    row = conn.execute("SELECT token_hash FROM api_tokens WHERE name = 'till-1'").fetchone()
    assert row["token_hash"] == hash_token(token) and token not in tuple(row)
    who = staff.principal_for_token(conn, token)
    assert who is not None and (who.name, who.role, who.staff_id) == ("till-1", "pos", None)
    assert staff.principal_for_token(conn, token + "x") is None
    assert staff.principal_for_token(conn, "") is None
    with pytest.raises(Conflict):
        staff.create_token(conn, name="till-1", role="pos")
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log ORDER BY rowid")]
    assert actions == ["token.create"]


def test_a_revoked_token_opens_nothing_and_its_name_is_free_again(conn):
    token = staff.create_token(conn, name="till-2", role="pos")
    staff.revoke_token(conn, "till-2")
    assert staff.principal_for_token(conn, token) is None
    with pytest.raises(NotFound):
        staff.revoke_token(conn, "till-2")
    again = staff.create_token(conn, name="till-2", role="kiosk")
    assert staff.principal_for_token(conn, again).role == "kiosk"
    listed = {t["name"]: t for t in staff.list_tokens(conn)}
    assert listed["till-2"]["revoked_at"] is None


def test_a_staff_member_logs_in_with_their_pin_only(conn):
    sid = staff.add_staff(conn, name="Ana", pin="654321", is_manager=True)
    who = staff.check_pin(conn, sid, "654321")
    assert who is not None and who.is_manager and who.via == "pin" and who.staff_id == sid
    assert staff.check_pin(conn, sid, "123456") is None
    assert staff.check_pin(conn, "st-nobody", "654321") is None
    pin_hash = conn.execute("SELECT pin_hash FROM staff WHERE staff_id = ?", (sid,)).fetchone()[0]
    assert "654321" not in pin_hash
    with pytest.raises(InvalidInput):  # a manager's PIN is 6 digits at least
        staff.add_staff(conn, name="Bo", pin="4321", is_manager=True)
    with pytest.raises(InvalidInput):
        staff.add_staff(conn, name="Kiosk", pin="4321", role="kiosk")
    with pytest.raises(Conflict):
        staff.add_staff(conn, name="Ana again", pin="4321", staff_id=sid)
    assert [s["staff_id"] for s in staff.list_staff(conn)] == [sid]
