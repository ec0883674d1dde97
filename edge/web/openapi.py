"""The OpenAPI 3.1 document, built from the declared operations and their pydantic models
(so the document cannot drift from what the code validates and returns)."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from edge import __version__
from edge.web.models import Error
from edge.web.routing import OPERATIONS, Operation

REF = "#/components/schemas/{model}"
ERROR_STATUSES = {
    400: "Malformed request (bad JSON)",
    401: "No valid token",
    403: "Role not allowed",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body over 1 MiB",
    415: "Body is not JSON",
    422: "Invalid input; `field` names it",
    423: "Locked",
    429: "Too many requests",
}


def _path(rule: str) -> str:
    return re.sub(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", r"{\1}", rule)


def _path_params(rule: str) -> list[str]:
    return re.findall(r"<(?:[a-z]+:)?([a-zA-Z_]+)>", rule)


def build(prefix: str = "/api/v1") -> dict[str, Any]:
    models: list[tuple[type[BaseModel], Any]] = [(Error, "serialization")]
    for op in OPERATIONS.values():
        if op.body:
            models.append((op.body, "validation"))
        for m in op.responses.values():
            if m:
                models.append((m, "serialization"))
    keys, defs = models_json_schema(models, ref_template=REF)
    schemas = defs.get("$defs", {})
    paths: dict[str, dict[str, Any]] = {}
    for op in sorted(OPERATIONS.values(), key=lambda o: (o.rule, o.method)):
        paths.setdefault(prefix + _path(op.rule), {})[op.method.lower()] = _operation(op, keys)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Passerelle store edge API",
            "version": __version__,
            "description": (
                "Served by the store's own box to its kiosks, POS terminals and screens. "
                "Every call needs `Authorization: Bearer <token>`; each operation lists the "
                'roles allowed in `x-roles`. Errors are `{"error": {code, message, field}}`.'
            ),
        },
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _operation(op: Operation, keys: dict[Any, Any]) -> dict[str, Any]:
    params: list[dict[str, Any]] = [
        {"name": p, "in": "path", "required": True, "schema": {"type": "string"}}
        for p in _path_params(op.rule)
    ]
    if op.query:
        schema = op.query.model_json_schema(ref_template=REF)
        required = set(schema.get("required", []))
        for pname, pschema in schema.get("properties", {}).items():
            params.append(
                {
                    "name": pname,
                    "in": "query",
                    "required": pname in required,
                    "schema": {k: v for k, v in pschema.items() if k != "title"},
                    **({"description": pschema["description"]} if "description" in pschema else {}),
                }
            )
    for h in op.headers:
        params.append(
            {
                "name": h.name,
                "in": "header",
                "required": h.required,
                "description": h.description,
                "schema": {"type": "string", "maxLength": 128},
            }
        )
    responses: dict[str, Any] = {}
    for status, model in op.responses.items():
        content = {"application/json": {"schema": keys[(model, "serialization")]}} if model else {}
        responses[str(status)] = {
            "description": "OK" if status < 300 else "",
            **({"content": content} if content else {}),
        }
    error_schema = {"application/json": {"schema": keys[(Error, "serialization")]}}
    for status, text in ERROR_STATUSES.items():
        if status in (400, 413, 415, 422) and op.body is None and op.query is None:
            continue
        responses.setdefault(str(status), {"description": text, "content": error_schema})
    out: dict[str, Any] = {
        "operationId": op.name,
        "summary": op.summary,
        "tags": op.tags,
        "x-roles": sorted(op.roles),
        "parameters": params,
        "responses": responses,
    }
    if op.description:
        out["description"] = op.description
    if op.body:
        out["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": keys[(op.body, "validation")]}},
        }
    return out
