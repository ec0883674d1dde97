"""Every printed document as data: a list of blocks and the texts in French and English.

One renderer (``hardware.render``) turns a layout plus a job's data into ESC/POS bytes, so
a new ticket is a new list here, never a new drawing function. Templates use Python's format
syntax over the job's data: ``{t.total}`` is a translated text, ``{total:money}`` an amount
in minor units formatted for the locale, ``{deadline:datetime}`` an RFC 3339 time shown in
the store's time zone, ``{order_number|order_id}`` the first of the keys that is present.

What each document expects in its data (keys not given print nothing):

- ``sale_receipt``: sale_id, occurred_at, currency, lines [{name, qty, unit_price}], subtotal,
  discount, coupons [{code, title, discount}], points_redeemed, points_value, total, payment_method,
  points_earned, points_balance, customer_name, terminal_id, store_name.
- ``pickup_slip``: order_id, order_number, customer_name, lines [{name, qty, sku}],
  pickup_by (or pickup_deadline), total, currency, paid, store_name.
- ``handover_receipt``: order_id, order_number, customer_name, lines, collected_at,
  staff (or handed_over_by), total, currency, paid, paid_in_store, store_name.
- ``loyalty_ticket``: customer_name, loyalty_card, tier, points_balance, points_value,
  currency, store_name.
- ``test_page``: printer, width, codepage, store_name.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

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
        Block("pair", "{t.paid_by}", "{payment_method:payment}", when="payment_method"),
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

TEXTS: dict[str, dict[str, str]] = {
    "fr": {
        "copy": "DUPLICATA",
        "possible_duplicate": "Réimpression après interruption",
        "receipt": "Ticket de caisse",
        "till": "Caisse",
        "customer": "Client",
        "subtotal": "Sous-total",
        "coupon": "Bon",
        "discount": "Remise totale",
        "points_redeemed": "Points utilisés",
        "total": "TOTAL",
        "paid_by": "Payé par",
        "card": "Carte",
        "cash": "espèces",
        "other": "autre",
        "points_earned": "Points gagnés",
        "points_balance": "Nouveau solde de points",
        "returns": "Échange ou remboursement sous 30 jours avec ce ticket",
        "thanks": "Merci de votre visite !",
        "each": "l'unité",
        "pickup_order": "Commande à retirer",
        "pickup_by": "À retirer avant le",
        "to_pay": "À encaisser au retrait",
        "paid_online": "Payé en ligne",
        "paid_in_store": "Payé en magasin",
        "handover": "Reçu de remise de commande",
        "collected_at": "Remise le",
        "handed_over_by": "Remise par",
        "loyalty": "Votre fidélité",
        "tier": "Niveau",
        "points_worth": "Valeur des points",
        "test_page": "Page de test",
        "printer": "Imprimante",
        "width": "Caractères par ligne",
        "codepage": "Page de codes",
        "amount": "Montant",
        "pangram": "Dès Noël, où un zéphyr haï me vêt de glaçons würmiens, "
        "je dîne d'exquis rôtis de bœuf au kir, à l'aÿ d'âge mûr et cætera.",
    },
    "en": {
        "copy": "COPY",
        "possible_duplicate": "Reprinted after an interruption",
        "receipt": "Receipt",
        "till": "Till",
        "customer": "Customer",
        "subtotal": "Subtotal",
        "coupon": "Coupon",
        "discount": "Total discount",
        "points_redeemed": "Points redeemed",
        "total": "TOTAL",
        "paid_by": "Paid by",
        "card": "Card",
        "cash": "cash",
        "other": "other",
        "points_earned": "Points earned",
        "points_balance": "New points balance",
        "returns": "Exchange or refund within 30 days with this receipt",
        "thanks": "Thank you for your visit!",
        "each": "each",
        "pickup_order": "Order to collect",
        "pickup_by": "Collect before",
        "to_pay": "To be paid at collection",
        "paid_online": "Paid online",
        "paid_in_store": "Paid in store",
        "handover": "Order handover receipt",
        "collected_at": "Handed over on",
        "handed_over_by": "Handed over by",
        "loyalty": "Your loyalty",
        "tier": "Tier",
        "points_worth": "Points worth",
        "test_page": "Test page",
        "printer": "Printer",
        "width": "Characters per line",
        "codepage": "Code page",
        "amount": "Amount",
        "pangram": "The quick brown fox jumps over the lazy dog: déjà vu, café, naïve.",
    },
}
