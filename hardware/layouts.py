"""Every printed document as data: a list of blocks and the words they print.

One renderer (``hardware.render``) turns a layout plus a job's data into ESC/POS bytes, so
a new ticket is a new list here, never a new drawing function. Templates use Python's format
syntax over the job's data: ``{t.total}`` is a translated text, ``{total:money}`` an amount
in minor units formatted for the locale, ``{deadline:datetime}`` an RFC 3339 time shown in
the store's time zone, ``{order_number|order_id}`` the first of the keys that is present.

What each document expects in its data (keys not given print nothing):

- ``sale_receipt``: sale_id, occurred_at, currency, lines [{name, qty, unit_price}], subtotal,
  discount, coupons [{code, title, discount}], points_redeemed, points_value, total, payment_method,
  points_earned, points_balance, customer_name, terminal_id, store_name; 1.1: payments
  [{method, amount}], change_due, order_id (or order_number).
- ``return_receipt``: return_id, occurred_at, original_id, lines [{name, qty, refund}],
  total_refunded, refunds [{method, amount}], points_reversed, points_restored,
  points_balance, reason, approved_by, void, exchange_of, customer_name, terminal_id;
  voucher_code, voucher_amount, voucher_valid_until (a refund in store credit).
- ``pickup_slip``: order_id, order_number, customer_name, lines [{name, qty, sku}],
  pickup_by (or pickup_deadline), total, currency, paid, store_name.
- ``handover_receipt``: order_id, order_number, customer_name, lines, collected_at,
  staff (or handed_over_by), total, currency, paid, paid_in_store, store_name.
- ``loyalty_ticket``: customer_name, loyalty_card, tier, points_balance, points_value,
  currency, store_name.
- ``test_page``: printer, width, codepage, store_name.

The words are gettext messages (English msgids, ``TEXTS``) translated in this package's own
catalogue, ``hardware/translations/<lang>/LC_MESSAGES/receipts.po`` (domain ``receipts``),
read with ``babel.support.Translations``. Not the edge's or the screens' catalogues: hardware
imports nothing of the edge (a print server or a test bench renders tickets without it), so
it ships the words it prints beside the layouts that print them. ``make translations``
extracts, merges and compiles it with the others.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

from babel.support import NullTranslations, Translations

LOCALES = ("fr", "en")
DOMAIN = "receipts"
TRANSLATIONS = Path(__file__).resolve().parent / "translations"


def N_(message: str) -> str:
    """Marks a msgid for extraction (pybabel knows ``N_``); the lookup happens later."""
    return message


Kind = Literal["text", "pair", "each", "rule", "qr", "feed"]


@dataclass(frozen=True)
class Block:
    """One piece of a ticket.

    - ``text``: ``text`` wrapped to the paper width.
    - ``pair``: ``text`` on the left, ``value`` on the right of the same line.
    - ``each``: one ``pair`` (or ``text`` when ``value`` is empty) per row of the list
      ``source``, the row's keys over the document's; ``check`` puts a box before each row
      and ``detail`` adds a second, indented line where the row has ``detail_when``.
    - ``rule``: a line of dashes. ``qr``: ``text`` as a QR code. ``feed``: an empty line.
    ``when`` names a data key that must be present and not empty or zero ("!key": the
    opposite; "?key": present and not null, zero included; "a|b": either; "c1,c2": both).
    """

    kind: Kind
    text: str = ""
    value: str = ""
    source: str = ""
    align: Literal["left", "center", "right"] = "left"
    size: Literal["normal", "tall", "large"] = "normal"
    bold: bool = False
    when: str = ""
    check: bool = False
    detail: str = ""
    detail_when: str = ""


RULE = Block("rule")
FEED = Block("feed")
HEADER = (
    Block("text", "{store_name}", align="center", size="large", bold=True),
    Block("text", "{store_address}", align="center", when="store_address"),
    Block("text", "*** {t.copy} ***", align="center", bold=True, when="reprint_of"),
    Block("text", "*** {t.possible_duplicate} ***", align="center", bold=True, when="interrupted"),
    RULE,
)
ITEMS = Block(
    "each",
    "{qty} x {name}",
    "{amount:money}",
    source="lines",
    detail="    {unit_price:money} {t.each}",
    detail_when="several",
)
CHECKLIST = Block("each", "{qty} x {name}", source="lines", check=True)

LAYOUTS: dict[str, tuple[Block, ...]] = {
    "sale_receipt": (
        *HEADER,
        Block("pair", "{t.receipt}", "{occurred_at:datetime}"),
        Block("text", "{t.till} {terminal_id}", when="terminal_id"),
        Block("text", "{t.customer}: {customer_name}", when="customer_name"),
        RULE,
        ITEMS,
        RULE,
        Block("pair", "{t.subtotal}", "{subtotal:money}", when="discount"),
        Block(
            "each",
            "{t.coupon} {code}",
            "-{discount:money}",
            source="coupons",
            detail="    {title}",
            detail_when="title",
        ),
        Block("pair", "{t.discount}", "-{discount:money}", when="discount"),
        Block(
            "pair",
            "{t.points_redeemed} ({points_redeemed:int})",
            "-{points_value:money}",
            when="points_redeemed",
        ),
        Block("pair", "{t.total}", "{total:money}", size="tall", bold=True),
        Block("pair", "{t.paid_by}", "{payment_method:payment}", when="payment_method,!payments"),
        Block("each", "{t.paid_by} {method:payment}", "{amount:money}", source="payments"),
        Block("pair", "{t.change_due}", "{change_due:money}", bold=True, when="change_due"),
        Block("text", "{t.order} {order_number|order_id}", when="order_id"),
        Block("feed", when="?points_balance"),
        Block("pair", "{t.points_earned}", "+{points_earned:int}", when="?points_balance"),
        Block("pair", "{t.points_balance}", "{points_balance:int}", when="?points_balance"),
        RULE,
        Block("text", "{t.returns}", align="center"),
        Block("qr", "{sale_id}", align="center", when="sale_id"),
        Block("text", "{sale_id}", align="center", when="sale_id"),
        FEED,
        Block("text", "{t.thanks}", align="center", bold=True),
    ),
    "return_receipt": (
        *HEADER,
        Block("text", "*** {t.void} ***", align="center", size="tall", bold=True, when="void"),
        Block("text", "{t.return_receipt}", align="center", size="tall", bold=True, when="!void"),
        Block("text", "{t.exchange}", align="center", when="exchange_of"),
        Block("pair", "{t.receipt}", "{occurred_at:datetime}"),
        Block("text", "{t.till} {terminal_id}", when="terminal_id"),
        Block("text", "{t.original}: {original_id}", when="original_id"),
        Block("text", "{t.customer}: {customer_name}", when="customer_name"),
        RULE,
        Block("each", "{qty} x {name}", "-{refund:money}", source="lines"),
        RULE,
        Block("pair", "{t.refunded}", "-{total_refunded:money}", size="tall", bold=True),
        Block("each", "{t.refund_by} {method:payment}", "{amount:money}", source="refunds"),
        Block("pair", "{t.points_reversed}", "-{points_reversed:int}", when="points_reversed"),
        Block("pair", "{t.points_restored}", "+{points_restored:int}", when="points_restored"),
        Block("pair", "{t.points_balance}", "{points_balance:int}", when="?points_balance"),
        Block("text", "{t.reason}: {reason}", when="reason"),
        Block("text", "{t.approved_by} {approved_by}", when="approved_by"),
        # a refund in store credit: the voucher's code, to type or scan in store or online
        Block("rule", when="voucher_code"),
        Block("text", "{t.voucher_title}", align="center", bold=True, when="voucher_code"),
        Block("pair", "{t.voucher_value}", "{voucher_amount:money}", when="voucher_code"),
        Block("pair", "{t.valid_until}", "{voucher_valid_until:datetime}", when="voucher_code"),
        Block("qr", "{voucher_code}", align="center", when="voucher_code"),
        Block(
            "text", "{voucher_code}", align="center", size="tall", bold=True, when="voucher_code"
        ),
        Block("text", "{t.voucher_use}", align="center", when="voucher_code"),
        Block("rule", when="voucher_code"),
        Block("qr", "{return_id}", align="center", when="return_id"),
        Block("text", "{return_id}", align="center", when="return_id"),
        FEED,
        Block("text", "{t.thanks}", align="center", bold=True),
    ),
    "pickup_slip": (
        *HEADER,
        Block("text", "{t.pickup_order}", align="center"),
        Block("text", "{order_number|order_id}", align="center", size="large", bold=True),
        FEED,
        Block("text", "{customer_name}", align="center", size="tall", when="customer_name"),
        RULE,
        CHECKLIST,
        RULE,
        Block(
            "pair",
            "{t.pickup_by}",
            "{pickup_deadline|pickup_by:datetime}",
            when="pickup_deadline|pickup_by",
        ),
        Block("pair", "{t.total}", "{total:money}", when="total"),
        Block("text", "*** {t.to_pay} ***", align="center", bold=True, when="?paid,!paid"),
        Block("qr", "{order_id}", align="center", when="order_id"),
    ),
    "handover_receipt": (
        *HEADER,
        Block("text", "{t.handover}", align="center", bold=True),
        Block("text", "{order_number|order_id}", align="center", size="large", bold=True),
        Block("text", "{t.customer}: {customer_name}", when="customer_name"),
        Block("pair", "{t.collected_at}", "{collected_at:datetime}", when="collected_at"),
        Block("text", "{t.handed_over_by} {handed_over_by|staff}", when="handed_over_by|staff"),
        RULE,
        Block("each", "{qty} x {name}", source="lines"),
        RULE,
        Block("pair", "{t.total}", "{total:money}", when="total"),
        Block("text", "{t.paid_in_store}", when="paid_in_store"),
        Block("text", "{t.paid_online}", when="paid,!paid_in_store"),
        Block("text", "{t.thanks}", align="center", bold=True),
    ),
    "loyalty_ticket": (
        *HEADER,
        Block("text", "{t.loyalty}", align="center", bold=True),
        Block("text", "{customer_name}", align="center", size="tall", when="customer_name"),
        Block("pair", "{t.card}", "{loyalty_card}", when="loyalty_card"),
        Block("pair", "{t.tier}", "{tier}", when="tier"),
        Block("pair", "{t.points_balance}", "{points_balance:int}"),
        Block("pair", "{t.points_worth}", "{points_value:money}", when="points_value"),
        Block("qr", "{loyalty_card}", align="center", when="loyalty_card"),
        Block("text", "{t.thanks}", align="center", bold=True),
    ),
    "test_page": (
        *HEADER,
        Block("text", "{t.test_page}", align="center", size="tall", bold=True),
        Block("pair", "{t.printer}", "{printer}"),
        Block("pair", "{t.width}", "{width}"),
        Block("pair", "{t.codepage}", "{codepage}"),
        RULE,
        Block("text", "àâäçéèêëîïôöùûüÿœæ"),
        Block("text", "ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ"),
        Block("text", "€ « » ° £"),
        Block("pair", "{t.amount}", "{sample:money}"),
        Block("text", "{t.pangram}"),
        RULE,
        Block("text", "{ruler}"),
        Block("qr", "{printer}", align="center"),
    ),
}

# Every word a ticket prints, by the key its templates use (``{t.total}``), as its English
# msgid; the French (and the English) are in translations/<lang>/LC_MESSAGES/receipts.po.
# ``N_`` only marks a msgid for extraction (scripts/translations.sh): the lookup is in texts().
TEXTS: dict[str, str] = {
    "copy": N_("COPY"),
    "possible_duplicate": N_("Reprinted after an interruption"),
    "receipt": N_("Receipt"),
    "till": N_("Till"),
    "customer": N_("Customer"),
    "subtotal": N_("Subtotal"),
    "coupon": N_("Coupon"),
    "discount": N_("Total discount"),
    "points_redeemed": N_("Points redeemed"),
    "total": N_("TOTAL"),
    "paid_by": N_("Paid by"),
    "card": N_("Card"),
    "cash": N_("cash"),
    "other": N_("other"),
    "voucher": N_("voucher"),
    "store_credit": N_("store credit"),
    "change_due": N_("Change due"),
    "order": N_("Order"),
    "return_receipt": N_("RETURN"),
    "original": N_("Original purchase"),
    "refunded": N_("TOTAL REFUNDED"),
    "refund_by": N_("Refunded by"),
    "points_reversed": N_("Points taken back"),
    "points_restored": N_("Points given back"),
    "reason": N_("Reason"),
    "approved_by": N_("Approved by"),
    "exchange": N_("Exchange"),
    "voucher_title": N_("STORE CREDIT VOUCHER"),
    "voucher_value": N_("Value"),
    "valid_until": N_("Valid until"),
    "voucher_use": N_("One use, in store or online"),
    "void": N_("VOID"),
    "points_earned": N_("Points earned"),
    "points_balance": N_("New points balance"),
    "returns": N_("Exchange or refund within 30 days with this receipt"),
    "thanks": N_("Thank you for your visit!"),
    "each": N_("each"),
    "pickup_order": N_("Order to collect"),
    "pickup_by": N_("Collect before"),
    "to_pay": N_("To be paid at collection"),
    "paid_online": N_("Paid online"),
    "paid_in_store": N_("Paid in store"),
    "handover": N_("Order handover receipt"),
    "collected_at": N_("Handed over on"),
    "handed_over_by": N_("Handed over by"),
    "loyalty": N_("Your loyalty"),
    "tier": N_("Tier"),
    "points_worth": N_("Points worth"),
    "test_page": N_("Test page"),
    "printer": N_("Printer"),
    "width": N_("Characters per line"),
    "codepage": N_("Code page"),
    "amount": N_("Amount"),
    "pangram": N_("The quick brown fox jumps over the lazy dog: déjà vu, café, naïve."),
}


@cache
def _catalogue(locale: str) -> NullTranslations:
    return Translations.load(str(TRANSLATIONS), [locale], domain=DOMAIN)


@cache
def texts(locale: str) -> dict[str, str]:
    """Every ticket word in ``locale`` (one of LOCALES), by key."""
    catalogue = _catalogue(locale)
    return {key: catalogue.gettext(msgid) for key, msgid in TEXTS.items()}
