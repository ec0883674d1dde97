"""The refund maths, without a database: every cent and every point goes back once."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from edge.errors import Forbidden, InvalidInput
from edge.returns.rules import (
    Bought,
    BoughtLine,
    Refund,
    ReturnLine,
    manager_required,
    needs_manager,
    plan,
    refunds,
)


def bought(**over: object) -> Bought:
    data: dict[str, object] = {
        "purchase_id": "s1",
        "kind": "sale",
        "original_id": "s1",
        "customer_id": "c1",
        "occurred_at": "2026-12-01T10:00:00Z",
        "currency": "EUR",
        "lines": [BoughtLine("MUG", "Mug", 3, 1000, 600), BoughtLine("CAFE", "Café", 1, 450)],
        "total": 2850,
        "points_earned": 28,
        "points_redeemed": 0,
    }
    data.update(over)
    return Bought(**data)  # type: ignore[arg-type]


def test_a_line_refunds_what_was_paid_after_its_coupon_share() -> None:
    out = plan(bought(), [ReturnLine("MUG", 1)], {})
    assert out[0].refund == 800  # (3000 - 600) / 3
    assert out[0].points_reversed == 8  # 28 points spread over 2400 and 450: 24 on mugs


@given(st.lists(st.integers(1, 3), min_size=1, max_size=3))
def test_unit_by_unit_refunds_sum_to_the_whole(steps: list[int]) -> None:
    b = bought(points_redeemed=150, total=2700)
    done: dict[str, int] = {}
    refunded = reversed_ = restored = 0
    for k in steps:
        left = 3 - done.get("MUG", 0)
        if left <= 0:
            break
        p = plan(b, [ReturnLine("MUG", min(k, left))], done)[0]
        done["MUG"] = done.get("MUG", 0) + p.qty
        refunded, reversed_, restored = (
            refunded + p.refund,
            reversed_ + p.points_reversed,
            restored + p.points_restored,
        )
    if done["MUG"] == 3:
        whole = plan(b, [ReturnLine("MUG", 3)], {})[0]
        assert (refunded, reversed_, restored) == (
            whole.refund,
            whole.points_reversed,
            whole.points_restored,
        )


def test_everything_back_is_the_total_paid() -> None:
    out = plan(bought(), [], {})
    assert sum(p.refund for p in out) == 2850
    assert sum(p.points_reversed for p in out) == 28


@pytest.mark.parametrize(
    ("lines", "done", "field", "code"),
    [
        ([ReturnLine("MUG", 4)], {}, "lines[0].qty", "more_than_bought"),
        ([ReturnLine("MUG", 2)], {"MUG": 2}, "lines[0].qty", "more_than_bought"),
        ([ReturnLine("MUG", 0)], {}, "lines[0].qty", "invalid"),
        ([ReturnLine("MUG", -1)], {}, "lines[0].qty", "invalid"),
        ([ReturnLine("TEA", 1)], {}, "lines[0].sku", "not_in_purchase"),
        ([ReturnLine("MUG", 1), ReturnLine("MUG", 1)], {}, "lines[1].sku", "invalid"),
    ],
)
def test_bad_lines_are_named(
    lines: list[ReturnLine], done: dict[str, int], field: str, code: str
) -> None:
    with pytest.raises(InvalidInput) as err:
        plan(bought(), lines, done)
    assert (err.value.field, err.value.code) == (field, code)


def test_refunds_must_sum_and_default_to_the_original_tenders() -> None:
    with pytest.raises(InvalidInput) as err:
        refunds([Refund("cash", 100)], 200, [])
    assert err.value.field == "refunds"
    assert refunds([], 800, [("card", 1000), ("cash", 500)]) == [Refund("card", 800)]
    assert refunds([], 1200, [("cash", 500), ("card", 1000)]) == [
        Refund("card", 1000),
        Refund("cash", 200),
    ]


def test_a_manager_approves_big_refunds_and_returns_without_receipt() -> None:
    assert not needs_manager(3000, above=3000, receipt=True)
    assert needs_manager(3001, above=3000, receipt=True)
    assert needs_manager(1, above=3000, receipt=False)
    assert isinstance(manager_required("x"), Forbidden)
