"""Check a real response against the OpenAPI document the app serves."""

from __future__ import annotations

import re
from typing import Any

from jsonschema import Draft202012Validator


def _match(doc: dict[str, Any], method: str, path: str) -> dict[str, Any]:
    # literal segments win over parameters, as in the router (/customers/lookup vs /{id})
    for template, ops in sorted(doc["paths"].items(), key=lambda kv: kv[0].count("{")):
        pattern = "^" + re.sub(r"\{[^}]+\}", "[^/]+", template) + "$"
        if re.match(pattern, path) and method.lower() in ops:
            op: dict[str, Any] = ops[method.lower()]
            return op
    raise AssertionError(f"{method} {path} is not in the OpenAPI document")


def check(doc: dict[str, Any], method: str, path: str, status: int, body: Any) -> None:
    op = _match(doc, method, path.split("?")[0])
    responses = op["responses"]
    assert str(status) in responses, f"{method} {path}: status {status} not documented"
    content = responses[str(status)].get("content")
    if not content:
        return
    schema = dict(content["application/json"]["schema"])
    schema["components"] = doc["components"]
    errors = sorted(Draft202012Validator(schema).iter_errors(body), key=str)
    assert not errors, f"{method} {path} {status}: {errors[0].message} at {list(errors[0].path)}"
