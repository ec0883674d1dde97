"""Guessing a staff PIN (issue 19 item 3): failures are counted per staff member in the
database (not per address or per worker), with a growing delay and then a lock that only an
admin lifts; every failure is audited; the login page never lists an admin."""

from __future__ import annotations

import pytest

from edge.errors import Locked
from edge.staff import rules
from edge.staff import service as auth
from tests.security.conftest import login


def _age_last_failure(conn, staff_id: str) -> None:
    """As if the growing delay had run out (no sleeping in tests)."""
    with conn:
        conn.execute(
            "UPDATE staff SET last_failed_at = '2000-01-01T00:00:00Z' WHERE staff_id = ?",
            (staff_id,),
        )


def test_guesses_from_many_devices_lock_the_account_not_the_address(app, conn):
    """Each guess comes from a fresh client (another device): the per-address limit never
    sees more than one, and still the account locks after ten."""
    for n in range(rules.LOCK_AFTER_PIN_FAILURES):
        r = login(app.test_client(), "pos", "st-ines", f"{n:04d}" if n != 3456 else "9999")
        assert r.status_code == 401, n
        if rules.FREE_PIN_TRIES - 1 <= n < rules.LOCK_AFTER_PIN_FAILURES - 1:
            r = login(app.test_client(), "pos", "st-ines", "3456")  # even the right PIN waits
            assert r.status_code == 429 and "Trop d'essais" in r.get_data(as_text=True)
        _age_last_failure(conn, "st-ines")
    r = login(app.test_client(), "pos", "st-ines", "3456")
    assert r.status_code == 423 and "administrateur" in r.get_data(as_text=True)
    with pytest.raises(Locked):
        auth.check_pin(conn, "st-ines", "3456")
    row = conn.execute("SELECT failed_pins, locked_at FROM staff WHERE staff_id = 'st-ines'")
    failed, locked_at = row.fetchone()
    assert failed == rules.LOCK_AFTER_PIN_FAILURES and locked_at
    audited = conn.execute(
        "SELECT action, COUNT(*) FROM audit_log WHERE target = 'st-ines' "
        "AND action LIKE 'staff.%' AND action != 'staff.add' GROUP BY action"
    ).fetchall()
    assert dict(audited) == {"staff.pin_failed": rules.LOCK_AFTER_PIN_FAILURES, "staff.locked": 1}
    auth.unlock_staff(conn, "st-ines")  # an admin, after checking
    assert auth.check_pin(conn, "st-ines", "3456") is not None


def test_the_delay_grows_and_a_success_resets_the_count(conn):
    assert [rules.pin_delay(n) for n in range(7)] == [0, 0, 0, 5, 10, 20, 40]
    assert rules.pin_delay(30) == rules.MAX_PIN_DELAY
    for _ in range(rules.FREE_PIN_TRIES):
        assert auth.check_pin(conn, "st-lucas", "0000") is None
    with pytest.raises(auth.PinWait) as wait:
        auth.check_pin(conn, "st-lucas", "2345")
    assert 0 < wait.value.retry_after <= 5
    _age_last_failure(conn, "st-lucas")
    assert auth.check_pin(conn, "st-lucas", "2345") is not None
    assert (
        conn.execute("SELECT failed_pins FROM staff WHERE staff_id = 'st-lucas'").fetchone()[0] == 0
    )


def test_admin_and_manager_pins_have_six_digits(conn):
    from edge.errors import InvalidInput

    for role, manager in (("admin", False), ("staff", True)):
        with pytest.raises(InvalidInput, match="6 to 12"):
            auth.add_staff(conn, name="X", pin="12345", role=role, is_manager=manager)
    assert auth.add_staff(conn, name="Y", pin="1234", role="pos")


def test_the_login_lists_only_the_screens_own_role_by_name(client, seeded):
    board = client.get("/login?screen=staff").get_data(as_text=True)
    till = client.get("/login?screen=pos").get_data(as_text=True)
    assert "st-lucas" in board and "st-ines" not in board
    assert "st-ines" in till and "st-lucas" not in till
    for page in (board, till):
        assert "st-manon" not in page and "Manon" not in page  # never an admin
        assert "is_manager" not in page and "created_at" not in page
    # an admin still logs in, by typing their id
    r = login(client, "staff", "", "246810", staff_other="st-manon")
    assert r.status_code == 302 and r.headers["Location"].endswith("/staff")
