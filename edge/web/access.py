"""Who may call what: the one table of roles per API operation.

Deny by default: an operation missing from this table cannot be registered (the route
decorator refuses it at import), and the role-matrix test calls every operation of the
OpenAPI document with every role and checks the answer against this table.
"""

from __future__ import annotations

KIOSK, POS, STAFF, ADMIN = "kiosk", "pos", "staff", "admin"
ROLES = (KIOSK, POS, STAFF, ADMIN)
EVERYONE = frozenset(ROLES)
TILL = frozenset({POS, ADMIN})
STORE_STAFF = frozenset({POS, STAFF, ADMIN})
BOARD = frozenset({STAFF, ADMIN})
ADMIN_ONLY = frozenset({ADMIN})

ACCESS: dict[str, frozenset[str]] = {
    "openapi": EVERYONE,
    "customers.lookup": EVERYONE,
    "customers.history": EVERYONE,
    # issue 19: a typed number must not tell a stranger at the kiosk who is a member; the
    # kiosk answers every number alike without asking (kiosk.js), the till may ask
    "customers.masked": TILL,
    "customers.enroll": TILL,
    "customers.get": TILL,  # issue 19: the board's staff role reads names only (no e-mail)
    "customers.update": frozenset({KIOSK, POS, ADMIN}),  # issue 22: details and consents
    "products.search": EVERYONE,
    "sales.create": TILL,
    "sales.get": TILL,
    "audit.list": ADMIN_ONLY,
    "sync.status": ADMIN_ONLY,
    # click-and-collect (issue 4)
    "pickups.list": BOARD,
    "pickups.get": BOARD,
    "pickups.preparing": BOARD,
    "pickups.ready": BOARD,
    "pickups.collect": BOARD,
    "pickups.cancel": BOARD,
    "pickups.unlock": BOARD,
    "pickups.checkin": frozenset({KIOSK, STAFF, ADMIN}),
    "pickups.reprint": BOARD,
    "pickups.put_back": BOARD,  # added by issue 4: the goods of a cancelled order are shelved
    # printing (issue 7)
    "printers.list": STORE_STAFF,
    "print_jobs.list": STORE_STAFF,
    "print_jobs.retry": STORE_STAFF,
    "sales.receipt": TILL,
    # offers and coupons (issue 10)
    "coupons.check": frozenset({KIOSK, POS, ADMIN}),
    "offers.for_customer": EVERYONE,
    # store stock (issue 17): the kiosk asks "is it here?", the till sees on hand, staff move it
    "stock.lookup": EVERYONE,
    "stock.levels": STORE_STAFF,
    "stock.to_count": BOARD,
    "stock.movements": BOARD,
    "stock.receive": BOARD,
    "stock.adjust": BOARD,
    "stock.count": BOARD,
    # returns, voids and exchanges (issue 16)
    "returns.lookup": TILL,
    "returns.create": TILL,
    "returns.get": TILL,
    "sales.void": TILL,
    "sales.order": TILL,
    "exchanges.create": TILL,
}

# Finer rules inside an operation, kept here too so that they are read in one place.
PHONE_LOOKUP = TILL  # a stranger at the kiosk must not find people by phone number
UNMASKED_NAMES = STORE_STAFF  # the kiosk sees "Dupont" as "D."
