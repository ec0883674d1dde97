"""Schema-driven fuzzing of the whole API: schemathesis generates requests from the OpenAPI
document (valid and invalid), sends them to the real app on a real database, and checks that
nothing answers 500 and every answer matches the document (status, content type, schema).

Operations are parametrized from the live document, so a new route is fuzzed without editing
this file. (schemathesis' own pytest fixture loader relies on a pytest attribute removed in
pytest 9, so each test loads the schema from the app itself.)
"""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

import edge.web.api  # noqa: F401 - registers the operations
from edge.web.openapi import build

CHECKS = [
    schemathesis.checks.not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
OPERATIONS = sorted(
    (method.upper(), path) for path, methods in build()["paths"].items() for method in methods
)


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_no_500_and_answers_match_the_document(app, seeded, method, path):
    auth = {"Authorization": f"Bearer {seeded['tokens']['admin']}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=auth)
    operation = schema[path][method]

    @given(case=operation.as_strategy())
    @settings(
        max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None
    )
    def run(case):
        case.headers = {**(case.headers or {}), **auth}
        case.call_and_validate(checks=CHECKS)

    run()
