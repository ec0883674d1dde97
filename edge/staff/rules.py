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


MIN_PIN = 4
"""Shortest PIN of a staff or till role."""

MIN_STRONG_PIN = 6
"""Shortest PIN of an admin or a manager: their PIN opens the admin API or unlocks orders."""

FREE_PIN_TRIES = 3
"""Wrong PINs in a row a staff member may type without waiting (fingers slip)."""

LOCK_AFTER_PIN_FAILURES = 10
"""Wrong PINs in a row that lock the staff member until an admin sets a new PIN or unlocks:
ten guesses out of 10⁴ (or 10⁶ for an admin) per lock, whatever the devices and addresses."""

MAX_PIN_DELAY = 300.0
"""Longest wait imposed between two tries before the lockout (seconds)."""


def min_pin_length(role: str, is_manager: bool) -> int:
    return MIN_STRONG_PIN if role == "admin" or is_manager else MIN_PIN


def check_staff_request(*, pin: str, role: str, is_manager: bool = False) -> None:
    """Refuse a PIN that is too short for the role (6 digits for admin and manager, else 4)
    or longer than 12, or a role a person cannot have."""
    check_pin_format(pin, role=role if role in STAFF_ROLES else "staff", is_manager=is_manager)
    if role not in STAFF_ROLES:
        raise InvalidInput("staff role must be staff, pos or admin", field="role")


def check_pin_format(pin: str, *, role: str, is_manager: bool) -> None:
    shortest = min_pin_length(role, is_manager)
    if not (pin.isascii() and pin.isdigit() and shortest <= len(pin) <= 12):
        who = "an admin's or a manager's" if shortest == MIN_STRONG_PIN else "a"
        raise InvalidInput(f"{who} PIN is {shortest} to 12 digits", field="pin")


def pin_delay(failures: int) -> float:
    """Seconds to wait after ``failures`` wrong PINs in a row before the next try counts:
    none for the first few, then 5 s doubling up to ``MAX_PIN_DELAY``."""
    if failures < FREE_PIN_TRIES:
        return 0.0
    return float(min(5.0 * 2.0 ** (failures - FREE_PIN_TRIES), MAX_PIN_DELAY))


def pin_locked(failures: int) -> bool:
    return failures >= LOCK_AFTER_PIN_FAILURES


def new_epoch() -> str:
    """A session epoch: moving it ends every screen session made before."""
    return secrets.token_hex(8)


def new_staff_id() -> str:
    return f"st-{uuid.uuid4().hex[:8]}"
