"""Schemathesis over every operation with every role's token (issue 19): whatever a kiosk,
a till, the board or an admin sends, valid or not, nothing answers 5xx.

tests/web/test_fuzz.py checks the answers against the document as the admin; this one asks
only "no server error", for each role, so that a refusal path (401, 403, 422 before or
after the role check) never crashes either. Short in the suite (1 example per operation
and role); ``make fuzz`` sets PASSERELLE_FUZZ_EXAMPLES=50.
"""

from __future__ import annotations

import os

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

import edge.web.api  # noqa: F401 - registers the operations
from edge.web.openapi import build

EXAMPLES = int(os.environ.get("PASSERELLE_FUZZ_EXAMPLES", "1"))  # read before the env is cleared
OPERATIONS = sorted(
    (method.upper(), path) for path, methods in build()["paths"].items() for method in methods
)


@pytest.mark.parametrize("role", ["kiosk", "pos", "staff", "admin"])
def test_no_role_gets_a_server_error(app, seeded, role):
    auth = {"Authorization": f"Bearer {seeded['tokens'][role]}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app, headers=auth)
    failures = []
    for method, path in OPERATIONS:
        operation = schema[path][method]

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            suppress_health_check=list(HealthCheck),
            database=None,
        )
        def run(case):
            case.headers = {**(case.headers or {}), **auth}
            response = case.call()
            assert response.status_code < 500, (case.method, case.formatted_path, response.text)

        try:
            run()
        except AssertionError as exc:
            failures.append(f"{method} {path}: {exc}")
    assert not failures, "\n".join(failures)
