"""Checking messages against the contract: its JSON Schemas (one validator each, a fast one
for the hot path and the reference one for the error message), events and status payloads.

orjson reads the wire and jsonschema-rs checks the hot path; when a message fails,
``jsonschema`` names the field and the problem for the dead letter."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

import orjson
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError, best_match
from referencing import Registry, Resource

from sync.contract.topics import check_topic
from sync.contract.types import EVENT_TYPES, ContractError


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


def _tolerant(node: Any) -> Any:
    """The schema as a reader applies it: fields it does not know are allowed (and ignored by
    the handlers), everything it knows is checked as strictly as a writer's."""
    if isinstance(node, dict):
        return {
            k: _tolerant(v)
            for k, v in node.items()
            if not (k in ("additionalProperties", "unevaluatedProperties") and v is False)
        }
    if isinstance(node, list):
        return [_tolerant(v) for v in node]
    return node


@cache
def _tolerant_validators(name: str) -> tuple[Any, Draft202012Validator]:
    schema = _tolerant(inlined(name))
    try:
        import jsonschema_rs
    except ImportError:
        fast = None
    else:
        fast = jsonschema_rs.validator_for(schema)
    return fast, Draft202012Validator(schema)


def _check(name: str, instance: Any, tolerant: bool = False) -> None:
    if tolerant:
        fast, reference = _tolerant_validators(name)
    else:
        fast, reference = _fast(name), _validator(name)
    if fast is not None and fast.is_valid(instance):
        return
    err = best_match(reference.iter_errors(instance))
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


def validate(event: dict[str, Any], *, tolerant: bool = False) -> None:
    """Check one CloudEvent against the envelope, then against its type's schema.

    Raises ContractError naming the field and the problem ("data.total: -1 is less than the
    minimum of 0", "unknown event type 'sale.deleted'", ...). An event type that is not part
    of this contract version is an error: it has no schema.

    Writers check strictly (the default): an event we publish carries exactly the contract's
    fields. Readers pass ``tolerant=True`` (CONTRACT.md 1.1, "Readers are tolerant"): a field
    a newer publisher added is ignored, not a reason to refuse the event.
    """
    if not isinstance(event, dict):
        raise ContractError("event is not a JSON object")
    type_ = event.get("type")
    if isinstance(type_, str) and type_ in EVENT_TYPES:
        _check(f"{type_}.json", event, tolerant)  # includes the envelope
        return
    _check("envelope.json", event, tolerant)
    raise ContractError(f"unknown event type {type_!r}", path="type")


def conforms(prefix: str, topic: str, payload: bytes | bytearray) -> bool:
    """True when ``payload`` is a valid event of this contract and fits ``topic``.

    The edge's sync worker asks it of each message as it hands it to the inbox applier
    (sync/worker.py), so that this check runs on the worker's core instead of the applier's.
    Strict: on False the applier checks that message again as a tolerant reader, keeps only
    the fields it knows (``known``) or dead-letters it with the reason.
    """
    try:
        event = parse(payload)
        validate(event)  # strict: a message with extra fields takes the tolerant path
        check_topic(prefix, topic, event)
    except ContractError:
        return False
    return True


def validate_status(payload: dict[str, Any]) -> None:
    """Check a retained link-status payload (``{"online", "last_sequence", "time"}``)."""
    if not isinstance(payload, dict):
        raise ContractError("status is not a JSON object")
    _check("status.json", payload, tolerant=True)  # only ever read: a tolerant reader


def sequence_of(event: dict[str, Any]) -> int | None:
    """The event's sequence as an integer when it carries a well-formed one, else None."""
    raw = event.get("sequence") if isinstance(event, dict) else None
    # [1-9][0-9]{0,17}, without a regex: this runs for every message received
    if isinstance(raw, str) and 0 < len(raw) <= 18 and raw.isascii() and raw.isdigit():
        return int(raw) if raw[0] != "0" else None
    return None


def known(event: dict[str, Any]) -> dict[str, Any]:
    """The event with only the ``data`` fields this version's schema names, at every depth
    (a tolerant reader ignores the rest: the handlers' own models may refuse extra fields).
    Call it on an event that passed ``validate(event, tolerant=True)``."""
    type_ = event.get("type")
    if not isinstance(type_, str) or type_ not in EVENT_TYPES:
        return event
    return {**event, "data": _prune(event.get("data"), _data_schema(type_))}


@cache
def _data_schema(type_: str) -> dict[str, Any]:
    """The ``data`` part of a type's inlined schema, read once: ``known`` runs for every
    event a newer publisher extended, and inlining reads the schema files again (about
    0.5 ms an event). Only ever read."""
    schema: dict[str, Any] = inlined(f"{type_}.json").get("properties", {}).get("data", {})
    return schema


def _prune(value: Any, schema: Any) -> Any:
    if not isinstance(schema, dict):
        return value
    for key in ("anyOf", "oneOf", "allOf"):
        for sub in schema.get(key, []):
            if not isinstance(sub, dict):
                continue
            if (isinstance(value, dict) and "properties" in sub) or (
                isinstance(value, list) and "items" in sub
            ):
                value = _prune(value, sub)
    if isinstance(value, dict) and "properties" in schema:
        props = schema["properties"]
        if schema.get("additionalProperties") is False:
            value = {k: v for k, v in value.items() if k in props}
        return {k: _prune(v, props.get(k)) for k, v in value.items()}
    if isinstance(value, list) and isinstance(schema.get("items"), dict):
        return [_prune(v, schema["items"]) for v in value]
    return value
