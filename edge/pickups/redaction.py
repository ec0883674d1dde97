"""Pickup codes out of stored raw payloads (issue 19).

An ``order.placed`` carries the shopper's 6-digit pickup code in clear. The order keeps only
an HMAC of it (``rules.code_hash`` with the box key), but the raw message was also kept
where the sync parks it (``inbox_pending``, until the events before it arrive) and where it
refuses it (``dead_letters``). Now:

- a parked payload has its code *sealed* (AES-GCM with the box key ``pickup_key``, which is
  never in the database): it is unsealed when the parked event is applied;
- a dead letter has its code replaced by ``******``: it is kept to be read, never applied.
"""

from __future__ import annotations

import base64
import os
import re
import sqlite3

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from edge.store.keys import box_key

KEY_NAME = "pickup_key"
SEALED = "sealed:"
_CODE = re.compile(r'("pickup_code"\s*:\s*")([^"\\]{1,64})(")')
_SEALED = re.compile(r'("pickup_code"\s*:\s*")' + SEALED + r'([A-Za-z0-9_=-]{1,200})(")')


def redact(raw: str) -> str:
    """The payload with any pickup code replaced by ``******`` (for dead letters)."""
    return _CODE.sub(lambda m: m.group(1) + "******" + m.group(3), raw)


def seal(conn: sqlite3.Connection, raw: str) -> str:
    """The payload with its pickup code encrypted with the box key (for parked events)."""
    if '"pickup_code"' not in raw:
        return raw
    aead = AESGCM(box_key(conn, KEY_NAME))

    def _one(m: re.Match[str]) -> str:
        if m.group(2).startswith(SEALED):
            return m.group(0)
        nonce = os.urandom(12)
        sealed = nonce + aead.encrypt(nonce, m.group(2).encode(), b"pickup_code")
        return m.group(1) + SEALED + base64.urlsafe_b64encode(sealed).decode() + m.group(3)

    return _CODE.sub(_one, raw)


def unseal(conn: sqlite3.Connection, raw: str) -> str:
    """The parked payload as it arrived (a code that cannot be unsealed stays sealed, and
    the contract then refuses the event as a dead letter)."""
    if SEALED not in raw:
        return raw
    aead = AESGCM(box_key(conn, KEY_NAME))

    def _one(m: re.Match[str]) -> str:
        try:
            sealed = base64.urlsafe_b64decode(m.group(2))
            code = aead.decrypt(sealed[:12], sealed[12:], b"pickup_code").decode()
        except (ValueError, InvalidTag):
            return m.group(0)
        return m.group(1) + code + m.group(3)

    return _SEALED.sub(_one, raw)
