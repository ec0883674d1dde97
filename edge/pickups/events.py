"""The data of the down-events the pickups area receives: ``order.placed``, ``order.cancelled``.

The web sends these; the handlers validate them here before they touch a table, so an order
that breaks the contract is refused as a whole (an ``InvalidInput`` naming the field) rather
than half-kept. Strict models: no coercion, no unknown fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError

from edge.errors import InvalidInput

ContractTime = Annotated[
    str,
    StringConstraints(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?(Z|\+00:00)$"
    ),
]
ContractId = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,63}$")]


class _Down(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class OrderLine(_Down):
    sku: Annotated[str, StringConstraints(min_length=1, max_length=64)]
    name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    qty: int = Field(ge=1, le=100_000)
    unit_price: int = Field(ge=0, le=100_000_000_000)


class OrderPlaced(_Down):
    order_id: ContractId
    order_number: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9-]{1,32}$")]
    customer_id: ContractId | None
    customer_name: Annotated[str, StringConstraints(min_length=1, max_length=200)]
    pickup_code: Annotated[str, StringConstraints(pattern=r"^[0-9]{6}$")]
    currency: Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
    total: int = Field(ge=0, le=100_000_000_000)
    paid: bool
    lines: list[OrderLine] = Field(min_length=1, max_length=1000)
    placed_at: ContractTime
    pickup_by: ContractTime


class OrderCancelled(_Down):
    order_id: ContractId
    reason: Annotated[str, StringConstraints(min_length=1, max_length=500)]


M = TypeVar("M", bound=BaseModel)


def validated(model: type[M], data: Mapping[str, Any]) -> M:
    """``data`` as ``model``, or an ``InvalidInput`` naming the first field at fault (the
    inbox records it as the event's error)."""
    try:
        return model.model_validate(dict(data))
    except ValidationError as exc:
        err = exc.errors()[0]
        field = ".".join(str(p) for p in err.get("loc", ())) or None
        raise InvalidInput(
            f"{model.__name__}: {field or 'data'}: {err.get('msg', 'invalid')}", field=field
        ) from exc
