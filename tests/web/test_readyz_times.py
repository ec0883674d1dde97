"""Every time the box reports is in one format: RFC 3339 UTC to the millisecond, ``…Z``
(``edge.store.db.now_iso``), never ``+00:00`` beside it (issue 23)."""

from __future__ import annotations

import re
from typing import Any

STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d")
ONE_FORMAT = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$")


def stamps(value: Any) -> list[str]:
    if isinstance(value, dict):
        return [s for v in value.values() for s in stamps(v)]
    if isinstance(value, list):
        return [s for v in value for s in stamps(v)]
    return [value] if isinstance(value, str) and STAMP.match(value) else []


def test_readyz_times_are_in_one_format(client, headers):
    body = client.get("/readyz").get_json()
    assert body["link"]["down_since"]  # a fresh box: down since it was set up
    found = stamps(body)
    assert found and all(ONE_FORMAT.match(s) for s in found), found
    status = client.get("/api/v1/sync/status", headers=headers("admin")).get_json()
    assert all(ONE_FORMAT.match(s) for s in stamps(status)), stamps(status)
