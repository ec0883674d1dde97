"""The pickups area's pure rules, without a database: the state machine, the clock, the pickup
code and its QR payload, under hypothesis."""

from __future__ import annotations

import string
from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.actor import Actor
from edge.errors import Conflict, InvalidInput, Locked
from edge.pickups import rules
from tests.pickups.conftest import ALLOWED

statuses = st.sampled_from(rules.STATUSES)
actions = st.sampled_from(rules.ACTIONS)
order_numbers = st.from_regex(r"[A-Za-z0-9-]{1,32}", fullmatch=True)
order_ids = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}", fullmatch=True)
codes = st.text(alphabet=string.digits, min_size=6, max_size=6)


# -- the state machine ---------------------------------------------------------------------------


def test_the_machine_table_is_the_issues_lifecycle():
    allowed = {(s, a) for s in rules.STATUSES for a in rules.ACTIONS if (s, a) in rules.TRANSITIONS}
    api_name = {"prepare": "preparing"}
    assert {(s, api_name.get(a, a)) for s, a in allowed if a != "expire"} == set(ALLOWED)
    assert rules.TRANSITIONS[("ready", "expire")] == "expired"
    assert [a for a in rules.ACTIONS if ("expired", a) in rules.TRANSITIONS] == []


@given(st.lists(st.sampled_from(rules.ACTIONS), max_size=30))
def test_random_action_sequences_keep_the_rules(actions):
    """Whatever staff, shoppers, the web and the clock do: a closed order never changes, a
    refused action names the state, and an order is collected only through preparing and
    ready."""
    status: str = "received"
    seen = [status]
    for action in actions:
        try:
            new = rules.next_status(status, action, "W-1")
        except Conflict as exc:
            assert status in exc.message and exc.status == 409
            assert (status, action) not in rules.TRANSITIONS
            continue
        if status in rules.CLOSED:
            raise AssertionError(f"closed order moved: {status} → {new}")
        if action == "checkin":
            assert new == status
        if new != seen[-1]:
            seen.append(new)
        status = new
    if status == "collected":
        assert seen == ["received", "preparing", "ready", "collected"]
    if status == "expired":
        assert seen[-2] == "ready"
    assert status in rules.STATUSES


@given(statuses, actions, order_numbers)
def test_next_status_agrees_with_allowed_actions(status, action, number):
    """The buttons shown are exactly the moves accepted; a refusal is a 409
    ``invalid_transition`` naming the order, its state and (for an open one) what is allowed."""
    if action in rules.allowed_actions(status):
        assert rules.next_status(status, action, number) == rules.TRANSITIONS[(status, action)]
        return
    with pytest.raises(Conflict) as refused:
        rules.next_status(status, action, number)
    err = refused.value
    assert err.code == "invalid_transition" and err.field == "status"
    assert f"order {number} is {status}" in err.message
    if status in rules.CLOSED:
        assert "the order is closed" in err.message
    else:
        assert "allowed now:" in err.message


@given(statuses)
def test_open_and_closed_states(status):
    assert (status in rules.OPEN) != (status in rules.CLOSED)
    assert "expire" not in rules.staff_actions(status)
    assert set(rules.staff_actions(status)) <= set(rules.allowed_actions(status))
    if status in rules.CLOSED:
        assert rules.allowed_actions(status) == []
    else:
        assert "checkin" in rules.allowed_actions(status)
        assert "cancel" in rules.allowed_actions(status)


@given(statuses)
def test_the_shopper_waits_for_ready_or_for_the_staff(status):
    step = rules.next_step(status)
    assert step == ("wait_ready" if status == "ready" else "wait_preparing")


@given(statuses, st.text(min_size=1), st.sampled_from(["web", "staff"]))
def test_a_cancellation_asks_to_shelve_only_ready_goods(status, reason, by):
    changes = rules.cancellation(status, reason, by, "2026-01-01T00:00:00.000Z", None)
    assert changes["status"] == "cancelled"
    assert changes["cancel_reason"] == reason and changes["cancelled_by"] == by
    assert changes["put_back"] == int(status == "ready")
    assert changes["closed_at"] == changes["updated_at"] == "2026-01-01T00:00:00.000Z"


def test_who_acted():
    assert rules.staff_of(Actor(name="kiosk-1", role="kiosk")) is None
    assert rules.staff_of(Actor(name="till", role="staff")) == "till"
    assert rules.staff_of(Actor(name="Manon", role="staff", staff_id="st-1")) == "st-1"


# -- the clock -----------------------------------------------------------------------------------


@given(
    st.datetimes(
        min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
    ),
    st.floats(min_value=0, max_value=240, allow_nan=False),
    st.integers(min_value=-(10**7), max_value=10**7),
)
def test_overdue_is_pickup_by_plus_grace(pickup_by, grace, offset):
    now = pickup_by + timedelta(hours=grace) + timedelta(seconds=offset)
    assert rules.is_overdue(pickup_by, now, grace) == (offset > 0)


aware_times = st.datetimes(
    min_value=datetime(2000, 1, 1),
    max_value=datetime(2100, 1, 1),
    timezones=st.sampled_from([UTC, *(timezone(timedelta(hours=h)) for h in (-11, -5, 2, 14))]),
)


@given(aware_times, aware_times)
def test_stored_times_round_trip_and_sort_as_text(a, b):
    sa, sb = rules.format_time(a), rules.format_time(b)
    assert sa.endswith("Z") and len(sa) == len("2026-01-01T00:00:00.000Z")
    assert rules.parse_time(sa) == a.replace(microsecond=a.microsecond // 1000 * 1000)
    if rules.parse_time(sa) != rules.parse_time(sb):
        assert (sa < sb) == (rules.parse_time(sa) < rules.parse_time(sb))


def test_a_time_without_a_zone_is_refused():
    assert rules.parse_time("2026-05-01T10:00:00+02:00") == datetime(2026, 5, 1, 8, tzinfo=UTC)
    assert rules.parse_time("2026-05-01T10:00:00Z") == datetime(2026, 5, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError, match="without a zone"):
        rules.parse_time("2026-05-01T10:00:00")


# -- the pickup code and its QR payload ----------------------------------------------------------


def test_qr_payload_has_one_format():
    assert rules.qr_payload("W-100234", "123456") == "PSRL:W-100234:123456"
    assert rules.parse_presented_code("PSRL:W-100234:123456") == ("W-100234", "123456")
    assert rules.parse_presented_code(" 123456 ") == (None, "123456")
    h = rules.code_hash("o-1", "123456")
    assert rules.code_matches("o-1", "W-1", h, "123456")
    assert rules.code_matches("o-1", "W-1", h, "PSRL:W-1:123456")
    assert not rules.code_matches("o-1", "W-1", h, "PSRL:W-2:123456")
    assert not rules.code_matches("o-1", "W-1", h, "123457")
    assert not rules.code_matches("o-2", "W-1", h, "123456")


@given(order_numbers, codes, st.sampled_from(["", " ", "\t", "\n "]))
def test_the_qr_payload_reads_back(number, code, pad):
    payload = rules.qr_payload(number, code)
    assert rules.parse_presented_code(pad + payload + pad) == (number, code)
    assert rules.parse_presented_code(pad + code + pad) == (None, code)


@given(order_ids, order_numbers, codes)
def test_the_right_code_matches_typed_or_scanned(order_id, number, code):
    stored = rules.code_hash(order_id, code)
    assert len(stored) == 64 and set(stored) <= set(string.hexdigits.lower())
    assert rules.code_matches(order_id, number, stored, code)
    assert rules.code_matches(order_id, number, stored, f" {code} ")
    assert rules.code_matches(order_id, number, stored, rules.qr_payload(number, code))


@given(order_ids, order_numbers, codes, codes, order_numbers, order_ids)
def test_any_other_code_number_or_order_does_not_match(
    order_id, number, code, other_code, other_number, other_id
):
    stored = rules.code_hash(order_id, code)
    if other_code != code:
        assert not rules.code_matches(order_id, number, stored, other_code)
        assert not rules.code_matches(
            order_id, number, stored, rules.qr_payload(number, other_code)
        )
    if not rules.same_order_number(other_number, number):  # "w-1" and "W-1" are one order
        assert not rules.code_matches(
            order_id, number, stored, rules.qr_payload(other_number, code)
        )
    if other_id != order_id:
        assert not rules.code_matches(other_id, number, stored, code)


@given(
    order_numbers, st.integers(min_value=1, max_value=20), st.integers(min_value=1, max_value=20)
)
def test_wrong_codes_count_down_to_the_lock(number, wrong, limit):
    err = rules.wrong_code_error(number, wrong, limit)
    assert err.field == "pickup_code"
    if wrong >= limit:
        assert rules.locks_at(wrong, limit)
        assert isinstance(err, Locked) and err.code == "pickup_locked" and err.status == 423
        assert f"order {number} is now locked after {limit} wrong codes" in err.message
    else:
        assert not rules.locks_at(wrong, limit)
        assert isinstance(err, InvalidInput) and err.code == "wrong_pickup_code"
        assert f"({limit - wrong} tries left before the order locks)" in err.message
    locked = rules.locked_error(number)
    assert locked.status == 423 and locked.code == "pickup_locked" and number in locked.message
