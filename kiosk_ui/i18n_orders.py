"""The screens' words for orders, tenders and returns (issue 16), merged into
``kiosk_ui.i18n.MESSAGES`` and ``ERRORS``: kept apart so that this work and the others'
each add their own lines."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l

MESSAGES: dict[str, Any] = {
    # POS: tenders and payment at pickup
    "cash_given": _l("Cash handed over"),
    "change_due": _l("Change due: {amount}"),
    "split_pay": _l("Several tenders"),
    "split_left": _l("Left to pay:"),
    "split_confirm": _l("Record the payment"),
    "tender_card": _l("Card"),
    "tender_cash": _l("Cash"),
    "tender_voucher": _l("Voucher"),
    "tender_store_credit": _l("Store credit"),
    "tender_other": _l("Other"),
    "order_to_pay": _l("Order {number} to pay"),
    "order_paid_online": _l("Order {number} was paid online: hand it over on the board."),
    "order_collected": _l("Order {number} paid and handed over."),
    # POS: returns
    "mode_returns": _l("Returns"),
    "mode_sale": _l("Back to sales"),
    "returns_title": _l("Return or exchange"),
    "return_of": _l("What comes back"),
    "return_kind_sale": _l("Receipt (store sale)"),
    "return_kind_order": _l("Web order"),
    "return_find_hint": _l("Scan the receipt's QR code or type the sale or order number"),
    "col_bought": _l("Bought"),
    "col_returned": _l("Returned"),
    "col_refund_each": _l("Refund each"),
    "col_back": _l("Back"),
    "return_reason": _l("Reason"),
    "reason_changed_mind": _l("Changed their mind"),
    "reason_wrong_item": _l("Wrong size or model"),
    "refund_by": _l("Refund by"),
    "refund_original": _l("The original tender"),
    "receipt_shown": _l("The receipt was shown"),
    "manager_id": _l("Manager (staff id)"),
    "manager_pin": _l("Manager's PIN"),
    "manager_needed": _l("A manager must approve: their id and PIN."),
    "refund_total": _l("To refund:"),
    "refund_confirm": _l("Refund"),
    "void_last": _l("Void the last sale"),
    "void_confirm": _l("Void sale {id}? A manager's PIN is needed."),
    "return_recorded": _l("Refunded: {total}"),
    "coupon_rest_lost": _l("This code is used once: the rest ({rest}) is lost."),
    "voucher_issued": _l(
        "Store-credit voucher of {amount}, valid until {until}, in store and online:"
    ),
    "points_back": _l("{reversed} points taken back, {restored} given back"),
    "return_bought_on": _l("Bought on {date}, {total}; returns until {until}"),
    "nothing_selected": _l("Choose what comes back."),
    "new_return": _l("New return"),
    "exchange_start": _l("Exchange: choose the new goods"),
    "exchange_credit": _l("Exchange: {total} of goods back, to pay the new ones"),
    "exchange_recorded": _l("Exchange recorded: {amount} to pay"),
    "exchange_refunded": _l("Exchange recorded: {amount} refunded"),
    # staff board
    "take_payment": _l("Take payment at the till"),
    # kiosk history
    "returned_lines": _l("Returned: {lines} (−{total})"),
    "pickup_at": _l("Click & collect at {store}: {status}"),
    "collected_on": _l("collected on {date}"),
}

ERRORS: dict[str, Any] = {
    "more_than_bought": _l("More than was bought, or already returned."),
    "not_in_purchase": _l("This product is not in that purchase."),
    "nothing_to_return": _l("Everything bought was already returned."),
    "unknown_original": _l("This store has no such sale or order: it cannot be returned here."),
    "return_window_expired": _l("The return window has closed."),
    "refunds_mismatch": _l("The refunds do not add up to the amount to refund."),
    "payments_mismatch": _l("The tenders do not add up to the total."),
    "not_enough_cash": _l("The cash handed over is less than the total."),
    "order_lines_mismatch": _l("The lines differ from the order's."),
    "already_paid": _l("This order is already paid."),
    "not_last_sale": _l("Only the last sale of this till may be voided: return it instead."),
    "void_too_late": _l("Too late to void this sale: return it instead."),
    "already_returned": _l("Part of this sale was already returned."),
    "not_this_terminal": _l("This sale was made at another till."),
    "wrong_customer": _l("The order belongs to another customer."),
}
