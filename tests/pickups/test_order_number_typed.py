"""The order number as a person types it: with or without ``W-``, spaces, lower case."""

from __future__ import annotations

import pytest

from edge.pickups import rules


@pytest.mark.parametrize(
    "typed",
    ["W-100001", "w-100001", "100001", " 100 001 ", "W100001", "w 100001", "W-W-100001"],
)
def test_every_spelling_is_the_printed_number(typed):
    assert rules.normalise_order_number(typed) == "W-100001"


def test_other_numbers_are_kept_and_compared_without_case():
    assert rules.normalise_order_number("ab-12") == "AB-12"
    assert rules.same_order_number("ab-12", "AB-12")
    assert not rules.same_order_number("W-100001", "W-100002")


def test_a_qr_code_with_a_lower_case_number_matches():
    h = rules.code_hash("o-1", "123456")
    assert rules.code_matches("o-1", "W-100001", h, "PSRL:w-100001:123456")
    assert not rules.code_matches("o-1", "W-100001", h, "PSRL:W-100002:123456")


@pytest.mark.parametrize("typed", ["{digits}", "w {digits}", "W-{digits}", "w-{digits} "])
def test_checkin_with_the_number_as_typed(client, headers, place, typed):
    order = place()
    digits = order["order_number"].removeprefix("W-")
    r = client.post(
        "/api/v1/pickups/checkin",
        json={"order_number": typed.format(digits=digits), "pickup_code": order["pickup_code"]},
        headers=headers("kiosk"),
    )
    assert r.status_code == 200, r.json
    assert r.json["order_number"] == order["order_number"]
