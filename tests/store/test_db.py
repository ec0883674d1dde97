"""The store database: pragmas, migrations, upgrades that lose nothing, and several writer
processes on one file without "database is locked"."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap

from edge.store import db, outbox
from tests.support import proc


def test_pragmas(tmp_path):
    conn = db.connect(tmp_path / "s.db")
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == db.BUSY_TIMEOUT_MS


def test_write_rolls_back_everything_on_error(tmp_path):
    conn = db.open_database(tmp_path / "s.db")
    try:
        with db.write(conn):
            outbox.append(conn, "/stores/S1", "sale.recorded", {"x": 1})
            raise RuntimeError("boom")
    except RuntimeError:
        pass
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 0
    assert outbox.last_sequence(conn, "/stores/S1") == 0


def test_upgrade_from_the_first_schema_loses_nothing(tmp_path, runner):
    """A box installed with the first release (only 0001) holds unsent up-events; a new
    version's `db upgrade` applies the rest and every event is still there, in order."""
    path = tmp_path / "old.db"
    conn = db.connect(path)
    first_name, first_sql = db.migration_files()[0]
    assert first_name == "0001_core.sql"
    db.applied_migrations(conn)
    with db.write(conn):
        for stmt in db.split_sql(first_sql):
            conn.execute(stmt)
        conn.execute("INSERT INTO _migrations VALUES (?, ?)", (first_name, db.now_iso()))
        for i in range(5):
            outbox.append(conn, "/stores/S1", "sale.recorded", {"sale_id": f"s{i}"})
        conn.execute(
            "INSERT INTO customers (customer_id, loyalty_card, first_name, created_at, "
            "updated_at) VALUES ('c1', 'CARD1', 'Ana', 'x', 'x')"
        )
    before = [tuple(r) for r in conn.execute("SELECT * FROM outbox ORDER BY sequence")]
    conn.close()

    from edge.cli import cli

    r = runner.invoke(cli, ["db", "upgrade"], env={"PASSERELLE_DB_PATH": str(path)})
    assert r.exit_code == 0 and "applied" in r.output
    conn = db.connect(path)
    assert [tuple(r) for r in conn.execute("SELECT * FROM outbox ORDER BY sequence")] == before
    assert db.pending_migrations(conn) == []
    assert conn.execute("SELECT first_name FROM customers").fetchone()[0] == "Ana"
    with db.write(conn):
        assert outbox.append(conn, "/stores/S1", "sale.recorded", {}).sequence == 6
    conn.close()


def test_a_database_from_a_newer_version_is_refused(tmp_path):
    conn = db.open_database(tmp_path / "s.db")
    with db.write(conn):
        conn.execute("INSERT INTO _migrations VALUES ('9999_future.sql', 'x')")
    try:
        db.migrate(conn)
    except db.DatabaseError as exc:
        assert "newer Passerelle" in str(exc)
    else:
        raise AssertionError("a newer database must be refused")


WRITER = textwrap.dedent("""
    import sys
    from edge.store import db, outbox
    conn = db.connect(sys.argv[1])
    for i in range(int(sys.argv[2])):
        with db.write(conn):
            # read then write in one transaction: the pattern that fails under a deferred BEGIN
            conn.execute("SELECT COUNT(*) FROM outbox").fetchone()
            outbox.append(conn, "/stores/S1", "loyalty.entry", {"writer": sys.argv[3], "i": i})
""")


def test_several_writer_processes_never_lock_and_never_reuse_a_sequence(tmp_path):
    path = tmp_path / "s.db"
    db.open_database(path).close()
    n, writers = 150, 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(path), str(n), str(w)],
            env=proc.env(),
            stderr=subprocess.PIPE,
        )
        for w in range(writers)
    ]
    for p in procs:
        _, err = p.communicate(timeout=120)
        assert p.returncode == 0, err.decode()
    conn = sqlite3.connect(path)
    seqs = [r[0] for r in conn.execute("SELECT sequence FROM outbox ORDER BY sequence")]
    assert seqs == list(range(1, n * writers + 1))
    per_writer = conn.execute("SELECT data FROM outbox").fetchall()
    assert len({(json.loads(d)["writer"], json.loads(d)["i"]) for (d,) in per_writer}) == n * 4
