"""Who acts: the plain value every service takes instead of a web request's principal.

The web layer turns a bearer token or a session cookie into an ``Actor``; the CLI and the
workers build one themselves. Services read only these fields, so they need neither Flask nor
Werkzeug to be called or tested.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Actor:
    """The caller of an operation: a token's name or a staff member, and the role it acts in."""

    name: str
    role: str
    staff_id: str | None = None
    is_manager: bool = False
    via: str = "token"
