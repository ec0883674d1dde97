"""The passerelle CLI, through click's runner and as a real process."""

from __future__ import annotations

import sqlite3
import subprocess

from edge.cli import cli
from edge.staff import service as auth
from edge.store import db
from tests.support import proc


def invoke(runner, db_path, *args, **kw):
    return runner.invoke(cli, list(args), env={"PASSERELLE_DB_PATH": str(db_path)}, **kw)


def test_help_lists_every_command(runner):
    out = runner.invoke(cli, ["--help"]).output
    for cmd in ("run", "serve", "sync", "db", "token", "staff", "demo"):
        assert cmd in out


def test_token_create_prints_it_once_on_the_last_line(runner, db_path):
    r = invoke(runner, db_path, "token", "create", "--role", "pos", "--name", "pos-1")
    assert r.exit_code == 0, r.output
    token = r.output.strip().splitlines()[-1]
    conn = db.connect(db_path)
    assert auth.principal_for_token(conn, token).role == "pos"
    assert token not in str(conn.execute("SELECT * FROM api_tokens").fetchall()[0][:])
    again = invoke(runner, db_path, "token", "create", "--role", "pos", "--name", "pos-1")
    assert again.exit_code != 0 and "exists" in again.output
    r = invoke(runner, db_path, "token", "revoke", "pos-1")
    assert r.exit_code == 0
    assert auth.principal_for_token(conn, token) is None
    assert "revoked" in invoke(runner, db_path, "token", "list").output
    bad = invoke(runner, db_path, "token", "create", "--role", "root", "--name", "x")
    assert bad.exit_code == 2
    conn.close()


def test_staff_add_and_pin(runner, db_path):
    r = invoke(
        runner,
        db_path,
        "staff",
        "add",
        "--name",
        "Ana",
        "--pin",
        "654321",
        "--id",
        "st-ana",
        "--manager",
    )
    assert r.exit_code == 0, r.output
    conn = db.connect(db_path)
    assert auth.check_pin(conn, "st-ana", "654321").is_manager
    assert auth.check_pin(conn, "st-ana", "0000") is None
    assert invoke(runner, db_path, "staff", "add", "--name", "B", "--pin", "12").exit_code != 0
    conn.close()


def test_db_upgrade_and_backup(runner, db_path, tmp_path):
    assert "up to date" in invoke(runner, db_path, "db", "upgrade").output
    r = invoke(runner, db_path, "db", "backup", str(tmp_path / "b.db"))
    assert r.exit_code == 0
    n = sqlite3.connect(tmp_path / "b.db").execute("SELECT COUNT(*) FROM _migrations").fetchone()
    assert n[0] == len(db.migration_files())


def test_bad_config_stops_the_start_naming_the_key(tmp_path):
    env = proc.env(db_path=tmp_path / "s.db", http_port="nope")
    r = subprocess.run(proc.passerelle("run"), env=env, capture_output=True, text=True, timeout=60)
    assert r.returncode != 0
    assert "PASSERELLE_HTTP_PORT" in r.stderr
    assert "Traceback" not in r.stderr


def test_sync_status_prints_the_state(runner, db_path):
    r = invoke(runner, db_path, "sync", "status")
    assert r.exit_code == 0 and "outbox" in r.output and "DOWN" in r.output
