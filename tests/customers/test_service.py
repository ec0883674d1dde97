"""Enrolment in a database: the member and its event are written together or not at all."""

from __future__ import annotations

import pytest

from edge.customers import service as customers
from edge.customers import views
from edge.errors import Conflict

MEMBER = {"first_name": "Zoé", "last_name": "Martin", "phone": "+33600000001", "locale": "fr"}


def test_enrol_commits_the_member_and_its_event_in_its_own_transaction(conn):
    created = customers.enroll(conn, MEMBER, source="/store/S001", store_id="S001")
    assert not conn.in_transaction
    assert created["loyalty_card"].startswith("PC") and created["points_balance"] == 0
    found = views.find(conn, card=created["loyalty_card"])
    assert found["customer_id"] == created["customer_id"]
    types = [r[0] for r in conn.execute("SELECT type FROM outbox")]
    assert types == ["customer.enrolled"]


def test_a_card_taken_writes_nothing(conn):
    customers.enroll(conn, {**MEMBER, "loyalty_card": "PC1"}, source="/store/S001", store_id="S001")
    with pytest.raises(Conflict) as err:
        customers.enroll(
            conn, {**MEMBER, "loyalty_card": "PC1"}, source="/store/S001", store_id="S001"
        )
    assert err.value.code == "card_taken" and not conn.in_transaction
    assert conn.execute("SELECT COUNT(*) FROM customers").fetchone()[0] == 1
    assert conn.execute("SELECT COUNT(*) FROM outbox").fetchone()[0] == 1
