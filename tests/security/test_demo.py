"""`passerelle demo` seeds an admin whose PIN is in the README: it refuses any database it
did not make itself (issue 19), and refills its own."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from edge.cli import cli
from edge.staff import service as auth
from edge.store import db


def _demo(db_path: Path) -> object:
    return CliRunner().invoke(cli, ["demo"], env={"PASSERELLE_DB_PATH": str(db_path)})


def test_the_demo_refuses_a_real_shops_database(tmp_path: Path) -> None:
    shop = tmp_path / "shop.db"
    conn = db.open_database(shop)
    auth.add_staff(conn, name="Real cashier", pin="8642", role="pos", staff_id="st-real")
    r = _demo(shop)
    assert r.exit_code != 0 and "not a demo database" in r.output
    assert [s["staff_id"] for s in auth.list_staff(conn)] == ["st-real"]  # no demo admin
    conn.close()


def test_the_demo_seeds_a_new_database_and_its_own_again(tmp_path: Path) -> None:
    demo_db = tmp_path / "demo.db"
    assert _demo(demo_db).exit_code == 0
    r = _demo(demo_db)
    assert r.exit_code == 0, r.output
