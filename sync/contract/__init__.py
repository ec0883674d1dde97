"""The sync contract in code: its JSON Schemas, one validator, and the topic names.

Both sides of the link use this module (the edge's sync worker and the reference online
store), so it imports nothing from ``edge/``: only the standard library, ``jsonschema`` and
the schema files beside it (``sync/schemas``). ``sync/asyncapi.yaml`` documents the same
contract for people; the schemas are the single machine-readable truth both read.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any, Literal

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

SCHEMA_BASE = "https://passerelle.example/schemas/v1/"
DEFAULT_PREFIX = "passerelle/v1"
STORE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")
CHAIN_SOURCE = "/web/chain"

# Which stream may carry which event type (CONTRACT.md, "Event types").
UP_TYPES = frozenset(
    {"sale.recorded", "loyalty.entry", "customer.enrolled", "pickup.updated", "coupon.redeemed"}
)
CHAIN_TYPES = frozenset(
    {
        "customer.upserted",
        "customer.erased",
        "purchase.recorded",
        "loyalty.entry",
        "product.upserted",
        "offer.upserted",
        "coupon.issued",
        "coupon.redeemed",
    }
)
STORE_DOWN_TYPES = frozenset({"order.placed", "order.cancelled", "replay.requested"})
EVENT_TYPES = UP_TYPES | CHAIN_TYPES | STORE_DOWN_TYPES

Direction = Literal["up", "down"]


class ContractError(ValueError):
    """A message that breaks the contract; ``str()`` names what is wrong and where."""

    def __init__(self, message: str, *, path: str = "") -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.reason = message
        self.path = path


# -- schemas -----------------------------------------------------------------------------------


def schema_names() -> list[str]:
    """File names of every schema (``sale.recorded.json``, ``envelope.json``, ...)."""
    pkg = resources.files("sync.contract.schemas")
    return sorted(e.name for e in pkg.iterdir() if e.name.endswith(".json"))


def load_schema(name: str) -> dict[str, Any]:
    """One schema by file name or event type (``sale.recorded`` or ``sale.recorded.json``)."""
    if not name.endswith(".json"):
        name += ".json"
    text = resources.files("sync.contract.schemas").joinpath(name).read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


@cache
def _registry() -> Registry:
    resources_ = []
    for name in schema_names():
        schema = load_schema(name)
        resources_.append((schema["$id"], Resource.from_contents(schema)))
    return Registry().with_resources(resources_)


@cache
def _validator(name: str) -> Draft202012Validator:
    schema = load_schema(name)
    Draft202012Validator.check_schema(schema)
    return Draft202012Validator(schema, registry=_registry())


def inlined(name: str) -> dict[str, Any]:
    """A schema with every ``$ref`` replaced by its target: one self-contained document."""
    if not name.endswith(".json"):
        name += ".json"

    def walk(node: Any, base: str) -> Any:
        if isinstance(node, dict):
            if "$ref" in node:
                file, _, fragment = node["$ref"].partition("#")
                file = file or base
                target: Any = load_schema(file)
                for part in (p for p in fragment.split("/") if p):
                    target = target[part]
                rest = {k: v for k, v in node.items() if k != "$ref"}
                resolved = walk(target, file)
                return {**resolved, **walk(rest, base)} if rest else resolved
            return {k: walk(v, base) for k, v in node.items() if k not in ("$id", "$defs")}
        if isinstance(node, list):
            return [walk(v, base) for v in node]
        return node

    out: dict[str, Any] = walk(load_schema(name), name)
    return out


@cache
def _fast(name: str) -> Any:
    """A compiled validator (jsonschema-rs) for the common case, a valid message: the inbox
    checks every down-event, and catching up 100,000 of them must not wait on validation.
    Errors are always explained by the reference implementation (jsonschema)."""
    try:
        import jsonschema_rs
    except ImportError:  # the pure-Python path gives the same answers, slower
        return None
    return jsonschema_rs.validator_for(inlined(name))


def _check(name: str, instance: Any) -> None:
    fast = _fast(name)
    if fast is not None and fast.is_valid(instance):
        return
    err = best_match(_validator(name).iter_errors(instance))
    if err is not None:
        raise ContractError(_describe(err), path=_path(err))


def _path(err: ValidationError) -> str:
    return "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in err.absolute_path).lstrip(
        "."
    )


def _describe(err: ValidationError) -> str:
    if err.validator == "additionalProperties":
        extra = sorted(set(err.instance) - set(err.schema.get("properties", {})))
        return "unexpected field(s): " + ", ".join(repr(k) for k in extra)
    message = str(err.message)  # typed Any by jsonschema
    if err.validator == "required":
        return message.replace("is a required property", "is required")
    return message if len(message) <= 200 else message[:197] + "..."


# -- events ----------------------------------------------------------------------------------


def parse(payload: bytes | bytearray | str) -> dict[str, Any]:
    """Bytes off the wire to a JSON object, or ContractError (not UTF-8, not JSON, not an
    object).

    orjson rather than the standard library: it reads the bytes as they come (checking the
    UTF-8 itself) about three times faster, and every down-event is parsed once on its way in
    (bench/, catch-up). It is also stricter, as the contract wants: no NaN, no integers past
    64 bits.
    """
    try:
        value = orjson.loads(payload)
    except orjson.JSONDecodeError as exc:
        if not isinstance(payload, str):
            try:
                bytes(payload).decode("utf-8")
            except UnicodeDecodeError as bad:
                raise ContractError(f"payload is not UTF-8: {bad.reason}") from exc
        raise ContractError(f"payload is not JSON: {exc.msg} at char {exc.pos}") from exc
    if not isinstance(value, dict):
        raise ContractError("payload is not a JSON object (CloudEvents structured mode)")
    return value


def validate(event: dict[str, Any]) -> None:
    """Check one CloudEvent against the envelope, then against its type's schema.

    Raises ContractError naming the field and the problem ("data.total: -1 is less than the
    minimum of 0", "unknown event type 'sale.deleted'", ...). An event type that is not part
    of this contract version is an error: it has no schema.
    """
    if not isinstance(event, dict):
        raise ContractError("event is not a JSON object")
    type_ = event.get("type")
    if isinstance(type_, str) and type_ in EVENT_TYPES:
        _check(f"{type_}.json", event)  # includes the envelope
        return
    _check("envelope.json", event)
    raise ContractError(f"unknown event type {type_!r}", path="type")


def conforms(prefix: str, topic: str, payload: bytes | bytearray) -> bool:
    """True when ``payload`` is a valid event of this contract and fits ``topic``.

    The edge's sync worker asks it of each message as it hands it to the inbox applier
    (sync/worker.py), so that this check runs on the worker's core instead of the applier's.
    On False the applier checks that message again, in the same way, and dead-letters it
    with the reason.
    """
    try:
        event = parse(payload)
        validate(event)
        check_topic(prefix, topic, event)
    except ContractError:
        return False
    return True


def validate_status(payload: dict[str, Any]) -> None:
    """Check a retained link-status payload (``{"online", "last_sequence", "time"}``)."""
    if not isinstance(payload, dict):
        raise ContractError("status is not a JSON object")
    _check("status.json", payload)


def sequence_of(event: dict[str, Any]) -> int | None:
    """The event's sequence as an integer when it carries a well-formed one, else None."""
    raw = event.get("sequence") if isinstance(event, dict) else None
    # [1-9][0-9]{0,17}, without a regex: this runs for every message received
    if isinstance(raw, str) and 0 < len(raw) <= 18 and raw.isascii() and raw.isdigit():
        return int(raw) if raw[0] != "0" else None
    return None


# -- sources and topics ---------------------------------------------------------------------


def up_source(store_id: str) -> str:
    return f"/stores/{_store(store_id)}"


def store_down_source(store_id: str) -> str:
    return f"/web/stores/{_store(store_id)}"


def _store(store_id: str) -> str:
    if not STORE_ID_RE.match(store_id):
        raise ContractError(f"store_id {store_id!r} does not match [A-Za-z0-9_-]{{1,32}}")
    return store_id


def up_topic(prefix: str, store_id: str, type_: str) -> str:
    """``{prefix}/stores/{store_id}/up/{type}``: one store's edge publishes here."""
    return f"{prefix}/stores/{_store(store_id)}/up/{type_}"


def store_down_topic(prefix: str, store_id: str, type_: str) -> str:
    """``{prefix}/stores/{store_id}/down/{type}``: the online store to one store."""
    return f"{prefix}/stores/{_store(store_id)}/down/{type_}"


def chain_down_topic(prefix: str, type_: str) -> str:
    """``{prefix}/chain/down/{type}``: the online store to every store."""
    return f"{prefix}/chain/down/{type_}"


def down_topic_for(prefix: str, source: str, type_: str) -> str:
    """The down topic of an event of ``source`` (``/web/chain`` or ``/web/stores/{id}``)."""
    if source == CHAIN_SOURCE:
        return chain_down_topic(prefix, type_)
    if source.startswith("/web/stores/"):
        return store_down_topic(prefix, source.rsplit("/", 1)[1], type_)
    raise ContractError(f"{source!r} is not a down-stream source")


def up_filter(prefix: str, store_id: str = "+") -> str:
    """Subscription filter of up-events (``+`` for every store, as the online store uses)."""
    return f"{prefix}/stores/{store_id}/up/#"


def edge_down_filters(prefix: str, store_id: str) -> list[str]:
    """What an edge subscribes to: its own down stream and the chain's."""
    return [f"{prefix}/stores/{_store(store_id)}/down/#", f"{prefix}/chain/down/#"]


def status_topic(prefix: str, source: str) -> str:
    """``{prefix}/status`` followed by the stream's source (``/stores/S001``, ``/web/chain``)."""
    if not source.startswith("/"):
        raise ContractError(f"source {source!r} must start with '/'")
    return f"{prefix}/status{source}"


def edge_status_topic(prefix: str, store_id: str) -> str:
    return status_topic(prefix, up_source(store_id))


def web_status_topics(prefix: str, store_id: str) -> dict[str, str]:
    """The online store's retained status topics an edge watches, by the source they describe."""
    return {
        CHAIN_SOURCE: status_topic(prefix, CHAIN_SOURCE),
        store_down_source(store_id): status_topic(prefix, store_down_source(store_id)),
    }


def stream_of(source: str) -> str:
    """The backfill endpoint's ``{stream}`` for a source: ``chain`` or ``stores/{id}``."""
    if source == CHAIN_SOURCE:
        return "chain"
    if source.startswith("/web/stores/"):
        return "stores/" + _store(source.rsplit("/", 1)[1])
    if source.startswith("/stores/"):
        return "stores/" + _store(source.rsplit("/", 1)[1])
    raise ContractError(f"{source!r} names no stream")


@dataclass(frozen=True)
class Topic:
    """A parsed event topic: which direction, which store (None for the chain), which type."""

    direction: Direction
    store_id: str | None
    type: str

    @property
    def source(self) -> str:
        if self.direction == "up":
            return f"/stores/{self.store_id}"
        return CHAIN_SOURCE if self.store_id is None else f"/web/stores/{self.store_id}"


def parse_topic(prefix: str, topic: str) -> Topic:
    """Read an event topic back; ContractError when it is not one of the contract's."""
    return _parse_topic(prefix, topic)


@lru_cache(maxsize=1024)  # a consumer sees the same few topics again and again
def _parse_topic(prefix: str, topic: str) -> Topic:
    if not topic.startswith(prefix + "/"):
        raise ContractError(f"topic {topic!r} is outside the prefix {prefix!r}")
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) == 3 and parts[0] == "chain" and parts[1] == "down":
        return Topic("down", None, parts[2])
    if len(parts) == 4 and parts[0] == "stores" and parts[2] in ("up", "down"):
        _store(parts[1])
        direction: Direction = "up" if parts[2] == "up" else "down"
        return Topic(direction, parts[1], parts[3])
    raise ContractError(f"topic {topic!r} is not an event topic of the contract")


def check_topic(prefix: str, topic: str, event: dict[str, Any]) -> None:
    """The envelope must agree with the topic it came on: same source, same type."""
    t = parse_topic(prefix, topic)
    if event.get("source") != t.source:
        raise ContractError(
            f"source {event.get('source')!r} does not belong on topic {topic!r} "
            f"(expected {t.source!r})",
            path="source",
        )
    if event.get("type") != t.type:
        raise ContractError(
            f"type {event.get('type')!r} does not match the topic's {t.type!r}", path="type"
        )


def status_payload(online: bool, last_sequence: int, time: str) -> dict[str, Any]:
    """The retained status message of a stream's publisher."""
    return {"online": online, "last_sequence": str(last_sequence), "time": time}
