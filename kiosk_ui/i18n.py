"""The screens' two languages.

Templates use ``_()`` (Flask-Babel); the scripts get the same catalogs as a JSON block in
the page (no inline script, so the CSP stays strict), built here from one table of
messages, so one ``.po`` file per language holds every word the screens show. Money and
dates are formatted in the browser with the locale's CLDR rules (``Intl``, the same data
Babel uses): ``12,50 €`` in French, ``€12.50`` in English.

The kiosk starts in the store's language (``locale``) and follows the member's language once
a card is scanned; the staff screens use ``staff_locale`` until someone switches.

API errors are shown by their code, never by the API's English ``message`` (for integrators):
``catalog`` gives each code its text as ``error_<code>``. The sentences the edge already
writes for a shopper (a failed check-in, a coupon refused) come from the edge's own
``shopper`` catalogue through ``edge.pickups.texts`` and ``edge.offers.texts``, so each is
translated once; the printed tickets' words are in ``hardware/translations``.
"""

from __future__ import annotations

from typing import Any

from flask import request, session
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from edge.offers import texts as offer_texts
from edge.pickups import texts as pickup_texts
from kiosk_ui import i18n_orders

LOCALES = ("fr", "en")
LANGUAGE_NAMES = {"fr": "Français", "en": "English"}


def select_locale() -> str:
    from edge.web.context import settings

    s = settings()
    if request.path.startswith("/kiosk"):
        return s.locale
    lang = session.get("lang")
    return lang if lang in LOCALES else s.staff_locale


# Every message a script shows, by key. ``{name}`` placeholders are filled in the browser.
MESSAGES: dict[str, Any] = {
    # all screens
    "link_down": _l(
        "The link to the online store is down: the store keeps working; web updates will follow."
    ),
    "error_generic": _l("Something went wrong. Please try again."),
    "error_network": _l("The store box does not answer. Check the network and try again."),
    "session_ended": _l("Your session has ended. Please log in again."),
    "unknown_code": _l("Unknown code: {code}"),
    "channel_web": _l("Online"),
    "channel_store": _l("In store"),
    "tier_standard": _l("Standard"),
    "tier_silver": _l("Silver"),
    "tier_gold": _l("Gold"),
    "points": _l("{points} points"),
    "items": _l("{count} items"),
    "item": _l("1 item"),
    # kiosk
    "hello": _l("Hello {name}!"),
    "tier_member": _l("{tier} member"),
    "points_worth": _l("worth {value}"),
    "last_purchases": _l("Your last purchases"),
    "your_offers": _l("Your offers, to use at the till"),
    "no_purchases": _l("No purchases yet."),
    "card_unknown": _l("We do not know this card. Please ask at the counter."),
    "coupon_valid": _l("This code is valid: show it at the till."),
    "coupon_personal": _l(
        "This code is valid with the member card it was sent for: show both at the till."
    ),
    "phone_unknown": _l("No member card is linked to this phone number."),
    "phone_invalid": _l("Type the number with its country code, e.g. +33 6 12 34 56 78."),
    "masked_found": _l("A member card is linked to {phone} ({name})."),
    "masked_hint": _l("Scan your card to see your points and your purchases."),
    "phone_same_answer": _l(
        "Scan your card, or ask at the till: they can find your card from your phone number."
    ),
    "checkin_ready": _l("Your order {number} is ready!"),
    "checkin_ready_where": _l(
        "Go to the click & collect counter with your pickup code: a team member is coming."
    ),
    "checkin_waiting": _l("Your order {number} is being prepared."),
    "checkin_waiting_where": _l(
        "The team knows you are here. Please wait near the click & collect counter."
    ),
    "checkin_closed": _l("Your order {number} can no longer be collected here."),
    "checkin_closed_where": _l("Please ask at the counter."),
    "checkin_wrong": _l("This order number and code do not match. Check your e-mail."),
    "checkin_locked": _l("Too many attempts for this order. Please ask at the counter."),
    "fill_both": _l("Type the order number and the 6-digit code."),
    # consents and contact details, kiosk and till (issue 22)
    "prefs_title": _l("Offers and contact details"),
    "prefs_email": _l("I agree to receive offers by e-mail"),
    "prefs_sms": _l("I agree to receive offers by text message"),
    "prefs_new_email": _l("New e-mail address (optional)"),
    "prefs_new_phone": _l("New mobile number (optional)"),
    "prefs_save": _l("Save my choices"),
    "prefs_saved": _l("Saved. Thank you!"),
    # staff board
    "status_received": _l("To prepare"),
    "status_preparing": _l("Being prepared"),
    "status_ready": _l("Ready"),
    "status_collected": _l("Collected"),
    "status_cancelled": _l("Cancelled"),
    "status_expired": _l("Expired"),
    "move_preparing": _l("Start preparing"),
    "move_ready": _l("Mark ready"),
    "move_collect": _l("Hand over"),
    "move_cancel": _l("Cancel"),
    "move_reprint": _l("Print slip"),
    "move_unlock": _l("Unlock"),
    "move_put_back": _l("Back on the shelf"),
    "checked_in_alert": _l("{name} is at the counter for order {number}"),
    "checked_in_at": _l("Checked in at {time}"),
    "pickup_by": _l("Pick up by {date}"),
    "paid": _l("Paid"),
    "to_pay": _l("To pay at pickup"),
    "no_orders": _l("No orders."),
    "locked": _l("Locked after too many wrong codes: a manager must unlock it."),
    "handover_done": _l("Order {number} handed over."),
    "cancel_done": _l("Order {number} cancelled."),
    "slip_queued": _l("Slip sent to the printer."),
    "put_back": _l("Cancelled by the web: put the goods back on the shelf."),
    "reason_needed": _l("Give a reason for the cancellation."),
    "code_needed": _l("Type the 6-digit pickup code or scan the shopper's QR code."),
    # POS
    "basket_empty": _l("Scan a product to start a sale."),
    "no_results": _l("No product matches."),
    "remove_line": _l("Remove {name}"),
    "more": _l("One more {name}"),
    "less": _l("One less {name}"),
    "customer_none": _l("No customer"),
    "redeem_worth": _l("{points} points: −{value}"),
    "sale_recorded": _l("Sale recorded: {total}"),
    "earned": _l("{points} points earned"),
    "new_balance": _l("New balance: {points} points"),
    "receipt_queued": _l("Receipt sent to the printer."),
    "enrolled": _l("{name} is now a member. Card: {card}"),
    "need_lines": _l("Add at least one product."),
    # page texts
    "kiosk_title": _l("Loyalty and pickup"),
    "welcome_title": _l("Welcome!"),
    "welcome_lead": _l("Scan your loyalty card or the QR code of your order e-mail."),
    "choice_card": _l("My loyalty card"),
    "choice_card_text": _l("Your points and your purchases, online and in store"),
    "choice_pickup": _l("Pick up an order"),
    "choice_pickup_text": _l("Scan the QR code of your e-mail or type your order number"),
    "choice_phone": _l("No card with you?"),
    "choice_phone_text": _l("Find your card with your phone number"),
    "scan_help": _l("Hold the barcode of your card under the reader, below the screen."),
    "help_footer": _l("Need help? Ask any member of staff."),
    "back": _l("Back"),
    "done": _l("Done"),
    "search": _l("Search"),
    "phone_title": _l("Find my card"),
    "phone_lead": _l("Type your phone number with its country code."),
    "phone_label": _l("Phone number"),
    "pickup_title": _l("Pick up an order"),
    "pickup_lead": _l(
        "Scan the QR code of your order e-mail, or type the order number and the 6-digit code."
    ),
    "order_number": _l("Order number"),
    "pickup_code": _l("Pickup code"),
    "check_in": _l("I am here"),
    "pair_title": _l("Pair this kiosk"),
    "pair_lead": _l(
        "Type the one-time pairing code (passerelle kiosk pair-code NAME) once on this device."
    ),
    "pair_token": _l("Pairing code"),
    "pair_button": _l("Pair"),
    "pair_failed": _l("This code is wrong, used or expired."),
    "too_many": _l("Too many attempts. Wait a minute, then try again."),
    "login_title_staff": _l("Click & collect board"),
    "login_title_pos": _l("Till"),
    "login_who": _l("Who are you?"),
    "login_nobody": _l("No staff member may use this screen yet (passerelle staff add)."),
    "login_pin": _l("PIN"),
    "login_button": _l("Log in"),
    "wrong_pin": _l("Wrong PIN."),
    "staff_locked": _l("Locked after too many wrong PINs: ask an administrator."),
    "login_other": _l("Someone else (staff id)"),
    "role_denied": _l("Your role cannot use this screen."),
    "logout": _l("Log out"),
    "pos_title": _l("Till"),
    "search_product": _l("Scan a barcode or search a product"),
    "basket": _l("Basket"),
    "col_product": _l("Product"),
    "col_price": _l("Price"),
    "col_qty": _l("Quantity"),
    "col_amount": _l("Amount"),
    "col_remove": _l("Remove"),
    "customer": _l("Customer"),
    "customer_hint": _l("Scan the card or type a phone number"),
    "find": _l("Find"),
    "enroll": _l("New member"),
    "remove": _l("Remove"),
    "redeem": _l("Points to redeem"),
    "redeem_max": _l("Max"),
    "subtotal": _l("Subtotal"),
    "points_discount": _l("Points"),
    "total": _l("Total"),
    "pay_card": _l("Card paid"),
    "pay_cash": _l("Cash paid"),
    "print_receipt": _l("Reprint the receipt"),
    "new_sale": _l("New sale"),
    "first_name": _l("First name"),
    "last_name": _l("Last name"),
    "email": _l("E-mail"),
    "card_optional": _l("Card number (optional: scan it)"),
    "language": _l("Language"),
    "cancel": _l("Cancel"),
    "create": _l("Create"),
    "board_title": _l("Click & collect"),
    "closed_today": _l("Closed"),
    "handover_title": _l("Hand over order {number}"),
    "handover_lead": _l("Ask for the pickup code, or scan the QR code on the shopper's phone."),
    "confirm_handover": _l("Confirm the handover"),
    "cancel_title": _l("Cancel order {number}"),
    "cancel_reason": _l("Reason (told to the shopper)"),
    "confirm_cancel": _l("Cancel the order"),
    "keep": _l("Keep it"),
    "close": _l("Close"),
    "payment_taken": _l("The shopper paid at the till"),
    "payment_due": _l("Not paid online: take {total} at the till first."),
    "reason_out_of_stock": _l("Out of stock"),
    "reason_damaged": _l("Item damaged"),
    "reason_customer": _l("The customer no longer wants it"),
    # store stock (issue 17): the kiosk's "is it in store?", the till, the board, the stock page
    "choice_product": _l("Is it in store?"),
    "choice_product_text": _l("Scan a product or type its name: its price and where it is"),
    "product_title": _l("Is it in store?"),
    "product_lead": _l("Scan the product's barcode, or type its name."),
    "product_label": _l("Product name or barcode"),
    "product_none": _l("No product found. A team member will help you."),
    "stock_here": _l("In this store: {count} available"),
    "stock_not_here": _l("Not available in this store right now."),
    "stock_elsewhere": _l("Available at {store}: {count}"),
    "stock_nowhere": _l("Not in our other stores either."),
    "stock_on_hand": _l("stock {count}"),
    "short_of": _l("short: {covered} of {qty}"),
    "stock_title": _l("Stock"),
    "board_link": _l("Click & collect"),
    "stock_sku": _l("SKU or barcode"),
    "stock_col_on_hand": _l("On hand"),
    "stock_col_reserved": _l("Held for orders"),
    "stock_col_available": _l("Available"),
    "stock_needs_count": _l("Below zero: count this product."),
    "stock_receipt": _l("Receipt"),
    "stock_ref": _l("Delivery note"),
    "stock_qty": _l("Quantity"),
    "stock_adjustment": _l("Adjustment"),
    "stock_reason": _l("Reason"),
    "adj_damaged": _l("Damaged"),
    "adj_stolen": _l("Stolen"),
    "adj_found": _l("Found"),
    "adj_correction": _l("Correction"),
    "stock_count": _l("Count"),
    "stock_counted": _l("Counted on the shelf"),
    "stock_record": _l("Record"),
    "stock_movements": _l("Movements"),
    "stock_to_count": _l("To count first"),
    "stock_done": _l("Recorded: on hand {before} → {after}"),
    "stock_when": _l("When"),
    "stock_why": _l("Why"),
    "stock_who": _l("Who"),
    "stockmove_sale": _l("Sale"),
    "stockmove_return": _l("Return"),
    "stockmove_receipt": _l("Receipt"),
    "stockmove_adjustment": _l("Adjustment"),
    "stockmove_count": _l("Count"),
    "stockmove_reservation": _l("Held for an order"),
    "stockmove_release": _l("Released"),
    "stockmove_collect": _l("Collected"),
    # typing a card or code by hand (common.js's bar, the kiosk's card field)
    "typed_hint": _l("Enter to confirm · Esc to clear"),
    "card_type_label": _l("Or type the number of your card"),
}


# What the screens say for each code of an API error ({"error": {"code", "message"}}), under
# the key "error_<code>": the API's ``message`` is English for integrators (a 429 says
# Flask-Limiter's "30 per 1 minute"), so the screens show these instead, and the API's text
# only for a code missing here (common.js, ApiError). Codes a screen cannot cause or a user
# cannot act on say error_generic.
ERRORS: dict[str, Any] = {
    "bad_request": _l("The request was not understood. Please try again."),
    "invalid": _l("Check what you typed."),
    "not_found": _l("Not found: it may have been removed."),
    "conflict": _l("This changed in the meantime. Reload the page and try again."),
    "forbidden": _l("You are not allowed to do this."),
    "locked": _l("This is locked: a manager must unlock it."),
    "already_printed": _l("This document has already been printed."),
    "printing": _l("This document is being printed now."),
    "card_required": _l("Scan the member's card."),
    "card_taken": _l("This loyalty card belongs to another member."),
    "coupon_duplicate": _l("This code is already in the sale."),
    "coupon_same_offer": _l("Two codes of the same offer cannot be combined in one sale."),
    "coupon_not_yet_valid": _l("This code is not valid yet."),
    "coupon_expired": _l("This code has expired."),
    "coupon_min_total_not_reached": _l("The basket does not reach this offer's minimum amount."),
    "coupon_offline_limit": _l(
        "The link to the online store is down: this personal code cannot be accepted until "
        "it is back."
    ),
    "csrf_failed": _l("This page has expired. Reload it and try again."),
    "currency_mismatch": _l("This price is not in the store's currency."),
    "customer_not_found": _l("No member matches."),
    "phone_invalid": _l("This phone number is not valid."),  # issue 22
    "email_invalid": _l("This e-mail address is not valid."),
    "forbidden_role": _l("This screen cannot do this."),
    "insufficient_points": _l("Not enough points."),
    "invalid_token": _l("This device is no longer paired: pair it again."),
    "invalid_transition": _l("The order's status does not allow this."),
    "manager_required": _l("Only a manager may do this."),
    "not_locked": _l("This order is not locked."),
    "nothing_to_put_back": _l("There is nothing to put back on the shelf."),
    "offline_redeem_cap": _l(
        "The link to the online store is down: fewer points may be redeemed until it is back."
    ),
    "payment_required": _l("Not paid online: take the payment at the till first."),
    "price_mismatch": _l("A price has changed: reload the product and try again."),
    "redeem_exceeds_total": _l("These points are worth more than the amount to pay."),
    "unknown_sku": _l("This product is not sold here."),
    "wrong_pickup_code": _l("Wrong pickup code."),
    "missing_field": _l("A required field is empty."),
}
MESSAGES.update(i18n_orders.MESSAGES)  # orders, tenders and returns (issue 16)
ERRORS.update(i18n_orders.ERRORS)

# Codes that say what another message already says (one msgid, translated once).
ERROR_SAME_AS: dict[str, str] = {
    "unauthorized": "session_ended",
    "missing_token": "session_ended",
    "rate_limited": "too_many",
    "pin_wait": "too_many",
    "staff_locked": "staff_locked",
    "pickup_locked": "locked",
    "unknown_customer": "error_customer_not_found",
    "forbidden_field": "error_forbidden_role",
    "unknown_field": "error_invalid",
    "wrong_type": "error_invalid",
    "invalid_value": "error_invalid",
    **dict.fromkeys(
        (
            "unsupported_media_type",
            "malformed_json",
            "idempotency_key_missing",
            "idempotency_key_reused",
            "method_not_allowed",
            "payload_too_large",
            "http_error",
            "internal",
        ),
        "error_generic",
    ),
}


def shopper_errors(locale: str) -> dict[str, str]:
    """The error codes whose words the edge already writes for the shopper (its ``shopper``
    catalogue): the screens say the same sentence, so it is translated once. Reasons whose
    sentence needs the API's facts (dates, amounts) have their own text in ERRORS."""
    out = {"error_checkin_failed": pickup_texts.shopper_message("failed", locale)}
    for reason, by_locale in offer_texts.MESSAGES.items():
        if "{" not in by_locale[locale]:
            out[f"error_coupon_{reason}"] = by_locale[locale]
    return out


def catalog(locale: str) -> dict[str, str]:
    with force_locale(locale):
        texts = {key: str(msg) for key, msg in MESSAGES.items()}
        texts.update({f"error_{code}": str(msg) for code, msg in ERRORS.items()})
    texts.update({f"error_{code}": texts[key] for code, key in ERROR_SAME_AS.items()})
    texts.update(shopper_errors(locale))
    return texts


def catalogs(locales: tuple[str, ...] = LOCALES) -> dict[str, dict[str, str]]:
    return {loc: catalog(loc) for loc in locales}
