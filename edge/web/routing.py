"""API operations: one decorator declares an operation's path, roles, request and response
models; from those declarations come the request validation, the authorisation check and the
OpenAPI 3.1 document. One place per rule: nothing about an operation is written twice."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import wraps
from typing import Any

import orjson
from flask import Blueprint, Response, current_app, g, jsonify, request
from pydantic import BaseModel

from edge.errors import Forbidden, InvalidInput, MalformedJson, UnsupportedMediaType
from edge.web import access
from edge.web.context import authenticate


@dataclass
class Header:
    name: str
    description: str
    required: bool = True


@dataclass
class Operation:
    name: str
    rule: str
    method: str
    summary: str
    tags: list[str]
    body: type[BaseModel] | None
    query: type[BaseModel] | None
    responses: dict[int, type[BaseModel] | None]
    headers: list[Header] = field(default_factory=list)
    description: str = ""

    @property
    def roles(self) -> frozenset[str]:
        return access.ACCESS[self.name]


OPERATIONS: dict[str, Operation] = {}


def parse_json_body(model: type[BaseModel]) -> BaseModel:
    if request.mimetype != "application/json":
        raise UnsupportedMediaType("send the body as JSON with Content-Type: application/json")
    try:
        data = json.loads(request.get_data(cache=True))
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJson(f"the body is not valid JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise InvalidInput("the body must be a JSON object", field=None, code="wrong_type")
    return model.model_validate(data)


def parse_query(model: type[BaseModel]) -> BaseModel:
    args: dict[str, Any] = {}
    for key, values in request.args.lists():
        if len(values) > 1:
            raise InvalidInput(f"query parameter {key!r} given more than once", field=key)
        args[key] = values[0]
    return model.model_validate(args)


def operation(
    bp: Blueprint,
    rule: str,
    method: str = "GET",
    *,
    name: str,
    summary: str,
    tags: list[str],
    responses: dict[int, type[BaseModel] | None],
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    headers: list[Header] | None = None,
    description: str = "",
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    if name not in access.ACCESS:
        raise RuntimeError(f"operation {name!r} has no row in edge.web.access.ACCESS")

    def decorate(fn: Callable[..., Any]) -> Callable[..., Any]:
        op = Operation(
            name,
            rule,
            method,
            summary,
            tags,
            body,
            query,
            responses,
            headers or [],
            description or (fn.__doc__ or "").strip(),
        )
        OPERATIONS[name] = op

        @wraps(fn)
        def view(**path: Any) -> Any:
            principal = authenticate()
            if principal.role not in op.roles:
                raise Forbidden(
                    f"the {principal.role} role may not call {op.method} {op.rule}",
                    code="forbidden_role",
                )
            g.principal = principal
            kwargs: dict[str, Any] = dict(path)
            if op.query is not None:
                kwargs["query"] = parse_query(op.query)
            elif request.args:
                raise InvalidInput(
                    f"unexpected query parameter {next(iter(request.args))!r}",
                    field=next(iter(request.args)),
                )
            if op.body is not None:
                kwargs["body"] = parse_json_body(op.body)
            result = fn(**kwargs)
            return render(result)

        bp.add_url_rule(rule, endpoint=name.replace(".", "_"), view_func=view, methods=[method])
        return view

    return decorate


def plain_answer(body: dict[str, Any], status: int = 200) -> Response:
    """An answer written straight from plain values by orjson (in Rust; the outbox and the
    contract use it too), with no model built on the way out: for the kiosk's read paths (a
    card lookup, a history page), whose read model already gives the declared response
    model's fields, in its order, from SQL rows. Building and validating the model first cost
    four times the writing (48 µs of a 10-purchase page against 12 µs); the model still
    declares the answer in the OpenAPI document, and the tests check these answers are byte
    for byte what the model would write (``tests/web/test_lookup_path.py``)."""
    return current_app.response_class(
        orjson.dumps(body), status=status, content_type="application/json"
    )


def render(result: Any) -> Any:
    status = 200
    headers: dict[str, str] = {}
    if isinstance(result, Response):
        return result
    if isinstance(result, tuple):
        if len(result) == 3:
            result, status, headers = result
        else:
            result, status = result
    if isinstance(result, BaseModel):
        # pydantic-core writes the JSON itself (in Rust), from the model: no dict of plain
        # values built first and encoded again by the json module (a tenth of a lookup's CPU)
        resp = current_app.response_class(
            result.model_dump_json(), status=status, content_type="application/json"
        )
    else:
        resp = jsonify(result)
        resp.status_code = status
    if headers:
        resp.headers.update(headers)
    return resp
