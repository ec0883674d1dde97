"""The staff area's pure rules: roles, what a valid token name and PIN are, and how a token
is made and hashed.

A token is shown once and only its SHA-256 is stored: tokens are 256-bit random values, so a
fast hash is enough and lookups stay O(1). PINs are short, so the service gives them a salted
slow hash (Werkzeug's scrypt), which stays out of this module.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid

from edge.errors import InvalidInput

ROLES = ("kiosk", "pos", "staff", "admin")
"""Roles an API token may have."""

STAFF_ROLES = ("staff", "pos", "admin")
"""Roles a staff member (logging in with a PIN) may have: a kiosk is a device, not a person."""

MAX_TOKEN_LENGTH = 200
"""Longer bearer values are refused before they are hashed."""


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def same_hash(stored: str, token: str) -> bool:
    """Whether ``token`` hashes to ``stored``, compared in constant time."""
    return hmac.compare_digest(stored, hash_token(token))


def new_token(role: str) -> str:
    """A fresh bearer token; its prefix names the role, so a leaked one is recognisable."""
    return f"pas_{role}_{secrets.token_urlsafe(32)}"


def check_token_request(*, name: str, role: str) -> None:
    """Refuse a token with an unknown role or an empty or over-long name."""
    if role not in ROLES:
        raise InvalidInput(f"role must be one of {', '.join(ROLES)}", field="role")
    if not name or len(name) > 64:
        raise InvalidInput("name must be 1 to 64 characters", field="name")


def check_staff_request(*, pin: str, role: str) -> None:
    """Refuse a PIN that is not 4 to 12 digits, or a role a person cannot have."""
    if not (pin.isascii() and pin.isdigit() and 4 <= len(pin) <= 12):
        raise InvalidInput("a PIN is 4 to 12 digits", field="pin")
    if role not in STAFF_ROLES:
        raise InvalidInput("staff role must be staff, pos or admin", field="role")


def new_staff_id() -> str:
    return f"st-{uuid.uuid4().hex[:8]}"
