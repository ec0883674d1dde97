"""The request path's cheaper parts say the same as what they replace (issue 21).

- the access log's lazy fields (``edge.web.access_log``) against gunicorn's own atoms;
- redaction's first scan (``edge.system.logs.MAY_MATCH``): each kind of personal data alone
  on a line is still redacted;
- the text formatter against structlog's, which it replaced on every text line;
- ``EdgeFlask`` calls views and hooks without asking whether they are coroutines: the app
  must have none.
"""

from __future__ import annotations

import inspect
import logging
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from gunicorn.config import Config
from gunicorn.glogging import Logger
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.system import logs
from edge.web.access_log import AccessLogger

EDGE_FORMAT = '%(h)s "%(m)s %(U)s" %(s)s %(L)ss rid=%({x-request-id}o)s'
EVERY_FIELD = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" %(T)s %(D)s %(M)s %(p)s '
    "%({Accept}i)s %({x-missing}o)s %({path_info}e)s %(q)s %(H)s %(B)s %(unknown)s"
)


class Resp:
    status = "201 CREATED"
    headers = [("Content-Type", "application/json"), ("X-Request-ID", 'a"b'), ("X-A", "1")]
    sent = 0


class Req:
    headers = [("HOST", "x"), ("ACCEPT", "application/json"), ("USER-AGENT", 'k"iosk')]


ENVIRON = {
    "REMOTE_ADDR": "10.0.0.7",
    "RAW_URI": "/api/v1/customers/lookup?card=1",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REQUEST_METHOD": "GET",
    "PATH_INFO": "/api/v1/customers/lookup",
    "QUERY_STRING": "card=1",
    "HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==",
    "HTTP_USER_AGENT": 'k"iosk',
}
TOOK = timedelta(seconds=1, microseconds=2345)


@pytest.mark.parametrize("fmt", [EDGE_FORMAT, EVERY_FIELD])
def test_lazy_access_fields_are_gunicorns(fmt: str) -> None:
    cfg = Config()
    cfg.set("access_log_format", fmt)
    ours, theirs = AccessLogger(cfg), Logger(cfg)
    want = fmt % theirs.atoms_wrapper_class(theirs.atoms(Resp, Req, ENVIRON, TOOK))
    got = fmt % ours.atoms_wrapper_class(ours.atoms(Resp, Req, ENVIRON, TOOK))
    assert got == want


def test_the_access_line_reaches_the_log(caplog: pytest.LogCaptureFixture) -> None:
    """logging takes a lone mapping as a format's arguments only when it is truthy."""
    cfg = Config()
    cfg.set("access_log_format", EDGE_FORMAT)
    cfg.set("accesslog", "-")
    ours = AccessLogger(cfg)
    with caplog.at_level(logging.INFO, logger="gunicorn.access"):
        ours.access(Resp, Req, ENVIRON, TOOK)
    lines = [r.getMessage() for r in caplog.records if r.name == "gunicorn.access"]
    assert lines == ['10.0.0.7 "GET /api/v1/customers/lookup" 201 1.002345s rid=a\\"b']


@pytest.mark.parametrize(
    ("line", "secret"),
    [
        ("token pas_kiosk_abcdefghijkl used", "abcdefghijkl"),
        ("Authorization: BEARER xyz123", "xyz123"),
        ("mail from jo.b@example.org today", "jo.b@example.org"),
        ("call +33612345678 back", "33612345678"),
        ("call %2B33612345678 back", "33612345678"),
        ("GET /x?card=4242 200", "card=4242"),
        ("card PC00000001234 scanned", "00000001234"),
    ],
)
def test_each_kind_of_personal_data_alone_is_still_redacted(line: str, secret: str) -> None:
    assert secret not in logs.redact(line)


@settings(max_examples=3000, deadline=None)
@given(
    st.lists(
        st.sampled_from([*"abBEc-_ é/?+@%.=", *"0123456789", "12345678", "pas_", "bearer", "%2B"]),
        max_size=40,
    ).map("".join)
)
def test_whatever_a_pattern_would_change_the_first_scan_finds(text: str) -> None:
    """The first scan is a superset of the six patterns: a line it passes over is one none of
    them would have changed."""
    if logs.MAY_MATCH.search(text) is None:
        for pattern, repl in logs.PATTERNS:
            assert pattern.sub(repl, text) == text, (pattern.pattern, text)


@pytest.mark.parametrize(
    "line",
    [
        '127.0.0.1 "GET /api/v1/customers/lookup" 200 0.009104s '
        "rid=4048d557d502149f710b151900000001",
        '127.0.0.1 "GET /api/v1/customers/0173f539-ec60-7000-80ed-018ebe780774/history" 200 '
        "0.001342s rid=4048d557d502149f710b151900000003",
    ],
)
def test_a_kiosk_access_line_takes_the_cheap_path(line: str) -> None:
    """The request id's counter (eight hex digits, mostly decimal ones) and a member id in the
    path are no card number: the line skips the six patterns (22-45 µs each time)."""
    assert logs.MAY_MATCH.search(line) is None
    assert logs.redact(line) == line


def test_a_line_with_nothing_personal_is_left_as_it_is() -> None:
    line = '127.0.0.1 "GET /api/v1/customers/lookup" 200 0.001234s rid=0af3c9'
    assert logs.redact(line) == line


def _records() -> list[logging.LogRecord]:
    out = [
        logging.LogRecord("gunicorn.access", logging.INFO, "f", 1, "%s ok", ("a",), None),
        logging.LogRecord("passerelle.run", logging.WARNING, "f", 1, "worker died", None, None),
    ]
    try:
        raise ValueError("boom")
    except ValueError:
        failed = logging.LogRecord("x", logging.ERROR, "f", 1, "failed", None, sys.exc_info())
    logs.RedactPersonalData().filter(failed)  # what the handler does before formatting
    return [*out, failed]


def test_text_lines_are_structlogs_lines() -> None:
    ours, theirs = logs.Formatter("text", journald=False), logs._structlog_formatter("text")
    stamp = len("2026-01-01T00:00:00.000000Z")  # the two read the clock apart
    token = logs.request_id.set("rid-7")
    try:
        for record in _records():
            got, want = ours.format(record), theirs.format(record)
            assert got[stamp:] == want[stamp:]
            assert "request_id=rid-7" in got
    finally:
        logs.request_id.reset(token)


def test_text_logging_does_not_import_structlog() -> None:
    """structlog (and the rich and pygments it brings) is 18 MB in every process."""
    formatter = logs.Formatter("text")
    formatter.format(_records()[0])
    assert formatter._structlog is None
    assert "structlog" not in vars(logs)


def test_the_app_has_no_coroutine_view_or_hook(app: Flask) -> None:
    hooks: list[Any] = list(app.view_functions.values())
    for table in (
        app.before_request_funcs,
        app.after_request_funcs,
        app.teardown_request_funcs,
        app.url_value_preprocessors,
    ):
        hooks += [f for funcs in table.values() for f in funcs]
    hooks += app.teardown_appcontext_funcs
    hooks += [
        f
        for by_blueprint in app.error_handler_spec.values()
        for by_code in by_blueprint.values()
        for f in by_code.values()
    ]
    assert hooks
    for fn in hooks:
        inner = inspect.unwrap(fn)
        assert not inspect.iscoroutinefunction(inner), fn


def test_the_api_and_the_workers_load_neither_numpy_nor_structlog() -> None:
    """Each is 15-25 MB in every process of the box that imports it: sqlite-utils (and the
    numpy it brings) is imported at the first erasure, structlog only for JSON lines,
    python-escpos (and Pillow) at the first print job."""
    code = (
        "import sys, edge.web.app, edge.system.runner, edge.printing.worker; "
        "import importlib.util as u; "
        "u.find_spec('sync.worker') and __import__('sync.worker'); "
        "print(sorted(m for m in ('numpy', 'sqlite_utils', 'structlog', 'rich', 'escpos', 'PIL') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
