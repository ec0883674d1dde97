"""Dead letters you can act on, and tolerant readers (CONTRACT.md 1.1, issue 18).

The inbox is driven directly here (the sync worker's applier runs these same calls in its
own process): an "old version" that does not know a type is the contract module without
that type, and the upgrade is putting it back.
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from edge.cli import cli
from edge.store import db
from sync import contract, redrive
from sync.consumer import Inbox
from sync.contract import validation
from tests.sync.conftest import scalar
from tests.sync.events import data_for

PREFIX = "passerelle/v1"
STORE = contract.store_down_source("S001")


def _event(type_: str, seq: int, data: dict[str, Any], source: str = STORE) -> dict[str, Any]:
    return {
        "specversion": "1.0",
        "id": f"ev-{source.rsplit('/', 1)[1]}-{seq}",
        "source": source,
        "type": type_,
        "time": "2026-11-22T10:15:00Z",
        "sequence": str(seq),
        "datacontenttype": "application/json",
        "data": data,
    }


def _receive(conn: sqlite3.Connection, ev: dict[str, Any]) -> None:
    inbox = Inbox("S001", PREFIX)
    topic = contract.down_topic_for(PREFIX, ev["source"], ev["type"])
    with db.write(conn), inbox.batch(conn, careful=True):
        inbox.ensure_streams(conn)
        inbox.receive(conn, topic, json.dumps(ev).encode())


def _cli(db_path: Path, monkeypatch: pytest.MonkeyPatch, *args: str) -> Any:
    monkeypatch.setenv("PASSERELLE_DB_PATH", str(db_path))
    return CliRunner().invoke(cli, ["sync", "dead-letters", *args])


def test_an_unknown_type_is_kept_and_applied_after_an_upgrade(
    edge_db: sqlite3.Connection, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    order = _event("order.placed", 1, data_for("order.placed", 1))
    with monkeypatch.context() as old_version:
        old_version.setattr(validation, "EVENT_TYPES", contract.EVENT_TYPES - {"order.placed"})
        _receive(edge_db, order)
        assert redrive.known_again(edge_db) == []  # the old version still does not know it
    # it used up its number (the stream goes on) and waits as a dead letter
    assert scalar(edge_db, "SELECT last_sequence FROM inbox_streams WHERE source = ?", STORE) == 1
    assert scalar(edge_db, "SELECT COUNT(*) FROM pickup_orders") == 0
    listed = _cli(db_path, monkeypatch, "list")
    assert listed.exit_code == 0 and "unknown event type" in listed.output
    (dead_id,) = [int(r[0]) for r in edge_db.execute("SELECT dead_id FROM dead_letters")]
    shown = _cli(db_path, monkeypatch, "show", str(dead_id))
    assert json.loads(json.loads(shown.stdout)["payload"])["id"] == order["id"]

    # The upgrade knows the type: the worker's start finds it, the command applies it.
    assert redrive.known_again(edge_db) == [dead_id]
    out = _cli(db_path, monkeypatch, "retry", "--all")
    assert out.exit_code == 0, out.output
    assert f"{dead_id}: applied" in out.output
    assert scalar(edge_db, "SELECT COUNT(*) FROM pickup_orders") == 1
    assert scalar(edge_db, "SELECT outcome FROM inbox WHERE id = ?", order["id"]) == "applied"
    assert scalar(edge_db, "SELECT COUNT(*) FROM dead_letters") == 0
    # A redelivery of the same event now is a duplicate: applied once only.
    _receive(edge_db, order)
    assert scalar(edge_db, "SELECT COUNT(*) FROM pickup_orders") == 1


def test_a_letter_that_still_fails_stays_and_can_be_dropped(
    edge_db: sqlite3.Connection, db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    bad = _event("order.placed", 1, {**data_for("order.placed", 1), "total": -1})
    _receive(edge_db, bad)
    out = _cli(db_path, monkeypatch, "retry", "--all")
    assert out.exit_code == 1 and "failed" in out.output
    assert scalar(edge_db, "SELECT attempts FROM dead_letters") == 1
    out = _cli(db_path, monkeypatch, "drop", "--all", "--yes")
    assert out.exit_code == 0 and "dropped 1" in out.output
    assert scalar(edge_db, "SELECT COUNT(*) FROM dead_letters") == 0


def test_readers_ignore_fields_they_do_not_know(edge_db: sqlite3.Connection) -> None:
    """A newer online store adds a field to ``data`` and to a line: still applied."""
    data = data_for("order.placed", 1)
    data["gift_wrap"] = True
    data["lines"][0]["engraving"] = "A&B"
    _receive(edge_db, _event("order.placed", 1, data))
    assert scalar(edge_db, "SELECT COUNT(*) FROM dead_letters") == 0
    assert scalar(edge_db, "SELECT COUNT(*) FROM pickup_orders") == 1
    # ...while the writer's check stays strict
    with pytest.raises(contract.ContractError, match="gift_wrap"):
        contract.validate(_event("order.placed", 2, data))


def test_a_known_sequence_with_another_id_is_a_conflict_not_a_duplicate(
    edge_db: sqlite3.Connection,
) -> None:
    """Contract 1.1: a number used twice with different ids is kept and reported."""
    src = contract.CHAIN_SOURCE
    first = _event("loyalty.entry", 1, data_for("loyalty.entry", 1), source=src)
    _receive(edge_db, first)
    _receive(edge_db, first)  # a redelivery: a plain duplicate
    assert scalar(edge_db, "SELECT COUNT(*) FROM dead_letters") == 0
    _receive(edge_db, {**first, "id": "ev-other-1"})  # same number, another id
    parked = _event("loyalty.entry", 3, data_for("loyalty.entry", 3), source=src)
    _receive(edge_db, parked)
    _receive(edge_db, {**parked, "id": "ev-other-3"})  # behind a hole, same number again
    reasons = [r[0] for r in edge_db.execute("SELECT reason FROM dead_letters ORDER BY 1")]
    assert reasons == [
        f"conflict: sequence 1 is already {first['id']}",
        f"conflict: sequence 3 is already {parked['id']}",
    ]
