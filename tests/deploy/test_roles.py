"""Roles enforced on every endpoint: every operation of the OpenAPI document, called with
every role, with no token and with a revoked token, answers as ``edge.web.access.ACCESS``
says. Driven by the document itself, so operations added later are covered unedited."""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Callable
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from edge.staff import service as auth
from edge.web.access import ACCESS, ROLES

METHODS = ("get", "post", "put", "patch", "delete")


def operations(doc: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (path, method, op)
        for path, item in doc["paths"].items()
        for method, op in item.items()
        if method in METHODS
    ]


def call(
    client: FlaskClient, path: str, method: str, op: dict[str, Any], headers: dict[str, str]
) -> Any:
    """The operation with placeholder path parameters ("1" fits both string and int
    converters, so routing never answers 404 before authorisation), its required headers and,
    when it takes a body, an empty JSON object (a 422 after the role check)."""
    url = re.sub(r"\{[^}]+\}", "1", path)
    h = dict(headers)
    for p in op.get("parameters", []):
        if p["in"] == "header" and p.get("required"):
            h[p["name"]] = "role-matrix-0001"
    kwargs: dict[str, Any] = {"headers": h}
    if "requestBody" in op:
        kwargs["json"] = {}
    return client.open(url, method=method.upper(), **kwargs)


def test_document_and_table_agree(app: Flask, client: FlaskClient, headers: Callable) -> None:
    doc = client.get("/api/v1/openapi.json", headers=headers("admin")).get_json()
    ops = operations(doc)
    assert len(ops) >= 8
    for path, method, op in ops:
        name = op["operationId"]
        assert name in ACCESS, f"{method.upper()} {path}: operation {name!r} not in ACCESS"
        assert op["x-roles"] == sorted(ACCESS[name]), name
    # every API route of the app is in the document (nothing registered around `operation`)
    documented = {(re.sub(r"\{[^}]+\}", "<>", p), m.upper()) for p, m, _ in ops}
    for rule in app.url_map.iter_rules():
        if not rule.rule.startswith("/api/v1/"):
            continue
        shape = re.sub(r"<[^>]+>", "<>", rule.rule)
        for method in rule.methods or ():
            if method in ("HEAD", "OPTIONS"):
                continue
            assert (shape, method) in documented, f"{method} {rule.rule} is not in the document"


def test_every_operation_with_every_role(
    client: FlaskClient, headers: Callable, conn: sqlite3.Connection, seeded: dict[str, Any]
) -> None:
    revoked = auth.create_token(conn, name="revoked-kiosk", role="kiosk")
    auth.revoke_token(conn, "revoked-kiosk")
    doc = client.get("/api/v1/openapi.json", headers=headers("admin")).get_json()
    failures: list[str] = []
    checked = 0
    for path, method, op in operations(doc):
        name = op["operationId"]
        allowed = ACCESS[name]
        where = f"{method.upper()} {path} ({name})"
        for label, hdrs in (
            ("no token", {}),
            ("revoked token", {"Authorization": f"Bearer {revoked}"}),
            ("unknown token", {"Authorization": "Bearer pas_admin_not-a-real-token"}),
            ("basic auth", {"Authorization": "Basic YWRtaW46YWRtaW4="}),
        ):
            r = call(client, path, method, op, hdrs)
            if r.status_code != 401 or "error" not in (r.get_json() or {}):
                failures.append(f"{where} with {label}: {r.status_code}, expected 401")
        for role in ROLES:
            r = call(client, path, method, op, headers(role))
            body = r.get_json(silent=True) or {}
            code = (body.get("error") or {}).get("code")
            checked += 1
            if r.status_code >= 500:
                failures.append(f"{where} as {role}: {r.status_code} {body}")
            elif role in allowed:
                if r.status_code == 401 or code == "forbidden_role":
                    failures.append(f"{where} as {role}: refused ({r.status_code} {code})")
            elif r.status_code != 403 or code != "forbidden_role":
                failures.append(f"{where} as {role}: {r.status_code} {code}, expected 403")
    assert not failures, "\n".join(failures)
    assert checked == len(operations(doc)) * len(ROLES)
