"""The CLI says which configuration and database it uses, and a read-only command never
creates a database (issue 23); ``sync status`` for a person and for a program."""

from __future__ import annotations

import json
import os
import re

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.store import db

READ_ONLY = [
    ["sync", "status"],
    ["sync", "status", "--json"],
    ["token", "list"],
    ["staff", "list"],
    ["printer", "list"],
    ["db", "backup", "copy.db"],
]


@pytest.mark.parametrize("args", READ_ONLY, ids=" ".join)
def test_a_read_only_command_never_creates_a_database(tmp_path, monkeypatch, args):
    monkeypatch.chdir(tmp_path)  # no configuration: the default ./passerelle.db
    r = CliRunner().invoke(cli, args)
    assert r.exit_code == 1
    assert "no database at" in r.output and str(tmp_path / "passerelle.db") in r.output
    assert "--config" in r.output  # and how to name the store's configuration
    assert os.listdir(tmp_path) == []


def test_every_command_names_its_configuration_and_database(tmp_path):
    path = tmp_path / "store.db"
    db.open_database(path).close()
    config = tmp_path / "passerelle.toml"
    config.write_text(f'store_id = "S042"\ndb_path = "{path}"\n')
    r = CliRunner().invoke(cli, ["--config", str(config), "sync", "status", "--json"])
    assert r.exit_code == 0, r.output
    assert f"configuration {config}" in r.stderr and f"database {path}" in r.stderr
    assert json.loads(r.stdout)["store_id"] == "S042"  # stdout stays JSON for programs
    r = CliRunner().invoke(
        cli, ["sync", "status"], env={"PASSERELLE_DB_PATH": str(path), "PASSERELLE_CONFIG": ""}
    )
    assert "configuration no file (built-in defaults), environment PASSERELLE_DB_PATH" in r.stderr


def test_sync_status_columns_are_aligned_and_json_documented(tmp_path):
    path = tmp_path / "store.db"
    conn = db.open_database(path)
    with db.write(conn):
        conn.execute(
            "INSERT INTO inbox_streams (source, last_sequence, remote_sequence) VALUES (?, ?, ?)",
            ("/web/chain", 1234, 1240),
        )
    conn.close()
    r = CliRunner().invoke(cli, ["sync", "status"], env={"PASSERELLE_DB_PATH": str(path)})
    assert r.exit_code == 0, r.output
    block, streams = r.stdout.split("\n\n")
    lines = block.splitlines()
    assert [ln.split()[0] for ln in lines][:3] == ["store", "link", "last"]
    # every value starts in the same column
    starts = {len(ln) - len(ln.split("  ")[-1].lstrip()) for ln in lines}
    assert len(starts) == 1, lines
    head, row = streams.strip().splitlines()
    assert head.split()[:3] == ["inbox", "stream", "applied"]
    assert head.index("applied") + len("applied") == row.index("1234") + len("1234")
    assert "6" in row.split()  # behind
    help_text = CliRunner().invoke(cli, ["sync", "status", "--help"]).output
    assert re.search(r"--json\s+Print the whole state as JSON", help_text)
