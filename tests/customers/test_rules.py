"""The customers area's pure rules: masking, the history cursor, new card numbers (no database)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.customers import rules
from edge.errors import InvalidInput


def test_a_masked_name_is_its_initial():
    assert rules.mask_name("dupont") == "D."
    assert rules.mask_name("") == "" and rules.mask_name(None) is None


@given(st.text(min_size=5, max_size=30))
def test_a_masked_phone_keeps_its_length_and_ends_only(phone):
    masked = rules.mask_phone(phone)
    assert masked is not None and len(masked) == len(phone)
    assert masked[:3] == phone[:3] and masked[-2:] == phone[-2:]
    assert set(masked[3:-2]) <= {"•"}


@given(st.text(), st.text())
def test_a_cursor_decodes_to_what_was_encoded(occurred_at, purchase_id):
    cursor = rules.encode_cursor(occurred_at, purchase_id)
    assert "=" not in cursor
    assert rules.decode_cursor(cursor) == (occurred_at, purchase_id)


@pytest.mark.parametrize("cursor", ["nope", "W10", "WzEsMl0", "eyJhIjogMX0"])
def test_a_cursor_not_given_out_is_refused(cursor):
    with pytest.raises(InvalidInput) as err:
        rules.decode_cursor(cursor)
    assert err.value.field == "cursor"


def test_a_new_card_number_is_printable_and_fresh():
    cards = {rules.new_card_number() for _ in range(50)}
    assert len(cards) == 50
    assert all(c.startswith("PC") and len(c) == 14 and c[2:].isdigit() for c in cards)
