"""The staff area's pure rules: token hashing and the checks on tokens and PINs (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import InvalidInput
from edge.staff import rules


@given(st.text(max_size=300))
def test_a_token_hash_is_a_sha256_that_only_the_same_token_matches(token):
    stored = rules.hash_token(token)
    assert len(stored) == 64 and stored == rules.hash_token(token)
    assert rules.same_hash(stored, token)
    assert not rules.same_hash(stored, token + "x")


@pytest.mark.parametrize("role", rules.ROLES)
def test_a_new_token_names_its_role_and_is_never_the_same(role):
    tokens = {rules.new_token(role) for _ in range(20)}
    assert len(tokens) == 20
    assert all(t.startswith(f"pas_{role}_") and len(t) <= rules.MAX_TOKEN_LENGTH for t in tokens)


def test_a_token_needs_a_known_role_and_a_short_name():
    rules.check_token_request(name="till-1", role="pos")
    for name, role, field in (
        ("x", "root", "role"),
        ("", "pos", "name"),
        ("x" * 65, "pos", "name"),
    ):
        with pytest.raises(InvalidInput) as err:
            rules.check_token_request(name=name, role=role)
        assert err.value.field == field


@given(pin=st.text(max_size=16), role=st.sampled_from([*rules.ROLES, "root"]))
def test_a_pin_is_4_to_12_digits_and_a_person_is_never_a_kiosk(pin, role):
    shortest = 6 if role == "admin" else 4  # an admin's PIN opens the admin API
    ok_pin = pin.isascii() and pin.isdigit() and shortest <= len(pin) <= 12  # '¹²³⁴' is no PIN
    try:
        rules.check_staff_request(pin=pin, role=role)
    except InvalidInput as err:
        assert err.field == ("role" if ok_pin else "pin")
        assert not ok_pin or role not in rules.STAFF_ROLES
    else:
        assert ok_pin and role in rules.STAFF_ROLES and role != "kiosk"


def test_a_new_staff_id_is_short_and_fresh():
    ids = {rules.new_staff_id() for _ in range(50)}
    assert len(ids) == 50 and all(i.startswith("st-") and len(i) == 11 for i in ids)


def test_digits_of_other_scripts_are_no_pin():
    for pin in ("¹²³⁴", "١٢٣٤٥٦"):  # str.isdigit() says yes to both
        with pytest.raises(InvalidInput):
            rules.check_staff_request(pin=pin, role="staff")
