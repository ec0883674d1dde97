"""Attacks on the screens' sessions (issue 19 item 2, issue 23 item 1): each fails.

The cookie carries ids and an epoch, checked on every request; the signing key is not in
the database (so not in a backup); pairing is a POST of a one-time code."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from click.testing import CliRunner

from edge.cli import cli
from edge.staff import pairing
from edge.staff import service as auth
from edge.web.app import create_app
from tests.security.conftest import csrf_of, login, pair

CARD = "/api/v1/customers/lookup?card=PC000000000001"


def test_a_revoked_kiosk_token_ends_its_paired_sessions_at_once(client, conn, seeded):
    assert pair(client, seeded["tokens"]["kiosk"]).status_code == 302
    assert client.get(CARD).status_code == 200
    auth.revoke_token(conn, "demo-kiosk")
    assert client.get(CARD).status_code == 401
    assert client.get("/kiosk").status_code == 302  # back to the pairing page


def test_a_new_token_of_the_same_name_does_not_revive_old_sessions(client, conn, seeded):
    pair(client, seeded["tokens"]["kiosk"])
    auth.revoke_token(conn, "demo-kiosk")
    auth.create_token(conn, name="demo-kiosk", role="kiosk")
    assert client.get(CARD).status_code == 401


def test_disabling_a_staff_member_or_a_new_pin_ends_their_sessions(app, client, conn):
    assert login(client, "staff", "st-lucas", "2345").status_code == 302
    assert client.get("/api/v1/pickups").status_code == 200
    auth.disable_staff(conn, "st-lucas")
    assert client.get("/api/v1/pickups").status_code == 401
    assert login(client, "staff", "st-lucas", "2345").status_code == 401

    other = app.test_client()
    assert login(other, "pos", "st-ines", "3456").status_code == 302
    assert other.get(CARD).status_code == 200
    auth.set_pin(conn, "st-ines", "97531")
    assert other.get(CARD).status_code == 401


def test_a_cookie_says_ids_and_an_epoch_never_a_role(app, client, conn):
    """A forged slot (right id, guessed epoch) or a role written into it gives nothing."""
    login(client, "staff", "st-lucas", "2345")
    with client.session_transaction() as s:
        slot = s["screens"]["staff"]
        assert set(slot) == {"s", "v", "at", "seen"}
        s["screens"] = {"staff": dict(slot, s="st-manon", role="admin")}
    assert client.get("/api/v1/audit").status_code == 401


def test_the_signing_key_is_not_in_the_database_nor_a_backup(tmp_path: Path):
    db_path = tmp_path / "store.db"
    app = create_app({"DB_PATH": str(db_path), "STORE_ID": "S001"})
    key = app.config["SECRET_KEY"]
    assert key and key.encode() not in db_path.read_bytes()
    key_file = tmp_path / "secret_key"
    assert key_file.read_text().strip() == key
    assert key_file.stat().st_mode & 0o777 == 0o600
    c = sqlite3.connect(db_path)
    assert c.execute("SELECT COUNT(*) FROM sync_state WHERE key = 'secret_key'").fetchone()[0] == 0
    c.close()
    # a second worker reads the same key; a rotation replaces it and old cookies end
    assert create_app({"DB_PATH": str(db_path), "STORE_ID": "S001"}).config["SECRET_KEY"] == key
    r = CliRunner().invoke(cli, ["secret", "rotate"], env={"PASSERELLE_DB_PATH": str(db_path)})
    assert r.exit_code == 0, r.output
    rotated = create_app({"DB_PATH": str(db_path), "STORE_ID": "S001"}).config["SECRET_KEY"]
    assert rotated != key and key not in r.output and rotated not in r.output


def test_pairing_is_a_post_of_a_one_time_code(client, conn, seeded):
    r = client.get(f"/kiosk/pair?token={seeded['tokens']['kiosk']}")
    assert r.status_code == 200 and client.get(CARD).status_code == 401  # GET pairs nothing
    code = pairing.create_code(conn, "demo-kiosk")
    page = client.get(f"/kiosk/pair?code={code}").get_data(as_text=True)
    assert f'value="{code}"' in page  # the link only fills the form in
    assert client.get(CARD).status_code == 401
    assert pair(client, code.lower().replace("-", " ")).status_code == 302
    assert client.get(CARD).status_code == 200
    assert pair(client.application.test_client(), code).status_code == 401  # used once
    assert pair(client.application.test_client(), seeded["tokens"]["pos"]).status_code == 401


def test_an_expired_code_or_an_old_kiosk_session_pairs_nothing(app, client, conn):
    code = pairing.create_code(conn, "demo-kiosk", minutes=1)
    with conn:
        conn.execute("UPDATE kiosk_pair_codes SET expires_at = '2000-01-01T00:00:00Z'")
    assert pair(client, code).status_code == 401
    code = pairing.create_code(conn, "demo-kiosk")
    assert pair(client, code).status_code == 302
    with client.session_transaction() as s:
        slots = s["screens"]
        slots["kiosk"]["at"] -= 31 * 86400  # kiosk_session_days = 30
        s["screens"] = slots
    assert client.get(CARD).status_code == 401


def test_one_browser_holds_board_till_and_kiosk_and_keeps_older_forms(client, seeded):
    """Issue 23: each screen has its own slot; a form loaded before a login still posts."""
    till_form = csrf_of(client.get("/login?screen=pos").get_data(as_text=True))
    assert login(client, "staff", "st-lucas", "2345").status_code == 302
    assert pair(client, seeded["tokens"]["kiosk"]).status_code == 302
    r = client.post(
        "/login",
        data={"csrf_token": till_form, "screen": "pos", "staff_id": "st-ines", "pin": "3456"},
    )
    assert r.status_code == 302
    assert client.get("/api/v1/pickups", headers={"X-Screen": "staff"}).status_code == 200
    assert client.get("/api/v1/pickups", headers={"X-Screen": "kiosk"}).status_code == 403
    assert client.get("/api/v1/sales/x", headers={"X-Screen": "pos"}).status_code == 404
    lookup = client.get(CARD, headers={"X-Screen": "kiosk"}).json
    assert lookup["last_name"] == "D."  # the kiosk still sees masked names
    assert client.get(CARD).status_code == 401  # several slots: the caller must say which
    assert client.get("/staff").status_code == 200 and client.get("/pos").status_code == 200


def test_the_screens_and_the_online_store_keep_their_own_cookies(client, tmp_path: Path):
    """Same host, another port: a browser sends both apps each other's cookies (issue 23)."""
    from online_store import OnlineStore
    from online_store.web import create_app as online_app

    login(client, "staff", "st-lucas", "2345")
    assert client.get_cookie("passerelle_screens") is not None
    shop = online_app(OnlineStore(str(tmp_path / "online.db"), "mqtt://127.0.0.1:9")).test_client()
    shop.get("/")
    assert shop.get_cookie("online_store_session") is not None
    assert {c.key for c in [client.get_cookie("passerelle_screens")]} == {"passerelle_screens"}
    assert client.get_cookie("session") is None and shop.get_cookie("session") is None


def test_cli_staff_disable_and_set_pin(tmp_path: Path, db_path: Path, conn, seeded, app):
    env = {"PASSERELLE_DB_PATH": str(db_path)}
    runner = CliRunner()
    r = runner.invoke(cli, ["staff", "set-pin", "st-manon", "--pin", "1234"], env=env)
    assert r.exit_code != 0 and "6 to 12 digits" in r.output
    r = runner.invoke(cli, ["staff", "set-pin", "st-manon", "--pin", "864209"], env=env)
    assert r.exit_code == 0, r.output
    assert auth.check_pin(conn, "st-manon", "864209") is not None
    assert runner.invoke(cli, ["staff", "disable", "st-lucas"], env=env).exit_code == 0
    assert auth.check_pin(conn, "st-lucas", "2345") is None
    listed = runner.invoke(cli, ["staff", "list"], env=env).output
    assert "disabled" in listed
    actions = [r[0] for r in conn.execute("SELECT action FROM audit_log")]
    assert {"staff.set_pin", "staff.disable"} <= set(actions)
