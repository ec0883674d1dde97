"""Domain errors: what went wrong, in words a cashier or an integrator can act on.

The domain raises these; the API turns them into ``{"error": {"code", "message", "field"}}``
with the status given here, the screens into a message. No Flask here: the sync worker and
the CLI raise and catch the same errors.
"""

from __future__ import annotations


class DomainError(Exception):
    status = 400
    code = "bad_request"

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code

    def to_dict(self) -> dict[str, object]:
        return {"error": {"code": self.code, "message": self.message, "field": self.field}}


class InvalidInput(DomainError):
    status = 422
    code = "invalid"


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Conflict(DomainError):
    status = 409
    code = "conflict"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"


class Locked(DomainError):
    status = 423
    code = "locked"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"
