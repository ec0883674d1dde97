"""Shapes of what enters and leaves the HTTP API, as pydantic models.

One definition serves three purposes: validating requests (strict types, unknown fields
refused so a client cannot assign a price, a total or a discount), rendering responses, and
the OpenAPI 3.1 document (pydantic emits JSON Schema 2020-12, which OpenAPI 3.1 uses).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

E164 = Annotated[str, StringConstraints(pattern=r"^\+[1-9][0-9]{6,14}$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Id = Annotated[str, StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")]
Card = Annotated[str, StringConstraints(min_length=4, max_length=32, pattern=r"^[A-Za-z0-9-]+$")]
Name = Annotated[str, StringConstraints(min_length=1, max_length=100, strip_whitespace=True)]
Locale = Literal["fr", "en"]
CouponCode = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$"
    ),
]


class In(BaseModel):
    """Requests: strict types, no unknown fields (no mass assignment)."""

    model_config = ConfigDict(strict=True, extra="forbid")


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorBody(Out):
    code: str
    message: str
    field: str | None


class Error(Out):
    error: ErrorBody


# -- customers -------------------------------------------------------------------------------


class LookupQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    card: Card | None = None
    phone: E164 | None = None


class Consents(Out):
    email: bool = Field(description="offers by e-mail")
    sms: bool = Field(description="offers by SMS")
    updated_at: str | None = Field(description="when the member last changed them")


class CustomerSummary(Out):
    customer_id: str
    first_name: str | None
    last_name: str | None
    tier: str
    points_balance: int
    points_value: int = Field(description="what the balance is worth, in minor units")
    currency: str
    locale: str
    consents: Consents


class MaskedQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    phone: E164


class MaskedSummary(Out):
    first_name: str | None
    last_name: str | None
    phone: str | None
    has_card: bool
    locale: str


class HistoryQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    limit: int = Field(default=20, ge=1, le=100)
    cursor: Annotated[str, StringConstraints(max_length=200)] | None = None
    card: Card | None = Field(
        default=None, description="kiosk role: the scanned card, proof the shopper is present"
    )


class Line(Out):
    sku: str
    name: str
    qty: int
    unit_price: int


class ReturnedLine(Out):
    sku: str
    name: str
    qty: int
    refund: int


class HistoryReturn(Out):
    return_id: str
    occurred_at: str
    total_refunded: int
    lines: list[ReturnedLine]


class HistoryItem(Out):
    purchase_id: str
    channel: Literal["web", "store"]
    store_id: str | None
    occurred_at: str
    currency: str
    total: int
    lines: list[Line]
    points_earned: int
    order_id: str | None = None
    fulfilment: str | None = None
    order_number: str | None = None
    pickup_status: str | None = Field(default=None, description="when this store holds the order")
    collected_at: str | None = None
    returns: list[HistoryReturn] = []


class HistoryPage(Out):
    items: list[HistoryItem]
    next_cursor: str | None


class EnrollIn(In):
    first_name: Name
    last_name: Name
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None
    phone: E164 | None = None
    loyalty_card: Card | None = None
    locale: Locale = "fr"


class Customer(Out):
    customer_id: str
    loyalty_card: str | None
    first_name: str | None
    last_name: str | None
    email: str | None
    phone: str | None
    tier: str
    locale: str
    points_balance: int
    version: int = Field(description="the online store's version of the record held here")
    consents: Consents


class ConsentsIn(In):
    email: bool | None = None
    sms: bool | None = None


class ProfileIn(In):
    """Only the fields sent change; ``null`` clears an e-mail or a phone."""

    card: Card | None = Field(
        default=None, description="kiosk role: the scanned card, proof the member is present"
    )
    email: (
        Annotated[str, StringConstraints(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
        | None
    ) = None
    phone: Annotated[str, StringConstraints(min_length=1, max_length=32)] | None = Field(
        default=None, description="as typed (06 12 34 56 78 or +33...): stored in E.164"
    )
    locale: Locale | None = None
    first_name: Name | None = None
    last_name: Name | None = None
    consents: ConsentsIn | None = None


# -- products --------------------------------------------------------------------------------


class ProductQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    barcode: Annotated[str, StringConstraints(min_length=1, max_length=64)] | None = None
    q: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = None
    limit: int = Field(default=20, ge=1, le=100)


class Product(Out):
    sku: str
    name: str
    barcode: str | None
    price: int
    currency: str
    active: bool


class ProductList(Out):
    items: list[Product]


# -- sales -----------------------------------------------------------------------------------


class SaleLineIn(In):
    sku: Id
    name: Annotated[str, StringConstraints(max_length=200)] | None = None
    qty: int = Field(ge=1, le=9999)
    unit_price: int | None = Field(
        default=None,
        ge=0,
        description="optional: when sent it must equal the catalogue price (never assigned)",
    )


Tender = Literal["card", "cash", "voucher", "store_credit", "other"]


class PaymentIn(In):
    method: Tender
    amount: int = Field(gt=0, le=100_000_000_000, description="minor units")
    tendered: int | None = Field(
        default=None, ge=0, le=100_000_000_000, description="cash only: what was handed over"
    )


class PaymentOut(Out):
    method: str
    amount: int


class SaleIn(In):
    terminal_id: Id
    customer_id: Id | None = None
    currency: Currency
    lines: list[SaleLineIn] = Field(min_length=1, max_length=500)
    redeem_points: int = Field(default=0, ge=0, le=10_000_000)
    payment_method: Literal["card", "cash", "other"] = "card"
    coupon_codes: list[CouponCode] = Field(
        default_factory=list,
        max_length=5,
        description="coupon codes to redeem, applied in this order; a spent one is a 409",
    )
    payments: list[PaymentIn] = Field(
        default_factory=list,
        max_length=10,
        description="tenders summing to the total (422 `payments_mismatch` otherwise); "
        "none: the whole total by payment_method. No card data: what the terminal accepted.",
    )
    order_id: Id | None = Field(
        default=None,
        description="the click-and-collect order this sale pays for; collected with the sale",
    )
    pickup_code: Annotated[str, StringConstraints(min_length=1, max_length=100)] | None = Field(
        default=None, description="with order_id: the shopper's code, typed or its QR payload"
    )
    cash_tendered: int | None = Field(
        default=None,
        ge=0,
        le=100_000_000_000,
        description="payment_method cash, no payments: what was handed over (the change is "
        "answered as change_due)",
    )


class SaleCoupon(Out):
    code: str
    coupon_id: str
    discount: int = Field(description="what this code took off, in minor units")


class SaleOut(Out):
    sale_id: str
    occurred_at: str
    currency: str
    subtotal: int
    discount: int
    points_value: int
    total: int
    points_earned: int
    points_redeemed: int
    points_balance: int | None
    lines: list[Line]
    coupons: list[SaleCoupon] = []
    order_id: str | None = None
    payments: list[PaymentOut] = []
    change_due: int = 0
    exchange_of: str | None = None


# -- health ----------------------------------------------------------------------------------


class Health(Out):
    status: Literal["ok"]
