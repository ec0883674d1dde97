"""Logging an operator can filter, without personal data or secrets.

One format for every line a box writes (the supervisor, the API's gunicorn master and workers,
gunicorn's access log, the sync worker and its applier): structlog's ``ProcessorFormatter``
sits on the standard library's handlers, so a library's ``logging`` call and our own come out
the same. ``log_format = "json"`` gives one JSON object per line (for a log shipper);
``"text"`` gives ``time LEVEL logger: message key=value``. Under systemd (``JOURNAL_STREAM``
set) each line starts with its syslog priority (``<3>`` error … ``<7>`` debug), which journald
reads, so ``journalctl -p warning`` filters by level. A request's lines carry its request id.

The code logs ids, never people; redaction is the second line: whatever a message, an
exception's text or a library's log line carries, e-mail addresses, phone numbers, card-like
numbers, query strings and API tokens are replaced before a handler writes them. It runs as a
filter on the handlers (filters on a logger do not see records propagated from its children).
"""

from __future__ import annotations

import contextvars
import logging
import logging.config
import os
import re
from collections.abc import MutableMapping
from datetime import UTC, datetime
from typing import Any

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"pas_[a-z]+_[A-Za-z0-9_-]{8,}"), "[token]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[token]"),
    (re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?:\+|%2B|%2b)\d{7,15}\b"), "[phone]"),
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"']+"), r"\1?[query]"),
    (re.compile(r"\b[A-Za-z]{0,4}-?\d{8,}\b"), "[number]"),
]

# syslog priorities (RFC 5424) as journald reads them from a "<N>" line prefix
PRIORITY = {"critical": 2, "error": 3, "warning": 4, "info": 6, "debug": 7}

# The request this thread is serving, if any (set and cleared by the web layer).
request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)


# What every pattern above needs somewhere in the text to match at all: a token's prefix,
# "bearer", an "@", a "+" or its escape, a "?", or eight digits in a row that start a word
# (after at most four letters and a hyphen, as the card-number pattern wants them). Most lines
# (every access line of a kiosk's lookup, say) have none, and one scan for these costs a
# fifth of running the six patterns (4-5 µs against 22-45 µs an access line). A line that
# has one goes through all of them, as before; a pattern added above must be covered here too
# (tests/web/test_cheap_request_path.py checks each kind alone, and that whatever the
# patterns would change, this scan finds). The digits must start a word: the request id on
# every access line is 32 hex digits whose counter part ("…151900000001") always holds eight
# digits in a row, so "eight digits anywhere" sent every line through all six patterns.
MAY_MATCH = re.compile(r"pas_|(?i:bearer)|@|\+|%2[Bb]|\?|(?<![0-9A-Za-z_])[A-Za-z]{0,4}-?\d{8}")


def redact(text: str) -> str:
    if MAY_MATCH.search(text) is None:
        return text
    for pattern, repl in PATTERNS:
        text = pattern.sub(repl, text)
    return text


class RedactPersonalData(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        cleaned = redact(message)
        if cleaned != message:
            record.msg, record.args = cleaned, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def _add_request_id(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    rid = request_id.get()
    if rid is not None:
        event.setdefault("request_id", rid)
    return event


def _exception_text(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The redacted traceback the filter left on the record, as the line's ``exception``."""
    record = event.get("_record")
    if isinstance(record, logging.LogRecord) and record.exc_text:
        event["exception"] = record.exc_text
    event.pop("exc_info", None)
    return event


def _text(_logger: Any, _method: str, event: MutableMapping[str, Any]) -> str:
    """``time LEVEL logger: message key=value ...``, the traceback on the lines after."""
    e = dict(event)
    head = f"{e.pop('time', '')} {str(e.pop('level', '')).upper()} {e.pop('logger', '')}: "
    line = head + str(e.pop("event", ""))
    exc = e.pop("exception", None)
    if e:
        line += " " + " ".join(f"{k}={v}" for k, v in e.items())
    return f"{line}\n{exc}" if exc else line


class Formatter(logging.Formatter):
    """The one formatter of every handler: text or JSON, with the journald priority prefix.

    Text lines (the default) are written here: structlog's chain of processors built and
    copied an event dict for each (a sixth of an access line's cost), and importing structlog
    at all brings rich and pygments for its console renderer, 18 MB in every process of the
    box. JSON lines (and the rare record with a stack) still go through structlog's
    ``ProcessorFormatter``, imported only then; both give the lines ``_text`` describes."""

    def __init__(self, fmt: str = "text", journald: bool | None = None) -> None:
        super().__init__()
        self.journald = bool(os.environ.get("JOURNAL_STREAM")) if journald is None else journald
        self.plain = fmt != "json"
        self._structlog: logging.Formatter | None = None
        if not self.plain:
            self._structlog = _structlog_formatter(fmt)

    @staticmethod
    def _plain_text(record: logging.LogRecord) -> str:
        """``time LEVEL logger: message request_id=...``, the redacted traceback on the lines
        after: what ``_text`` makes of a standard library record."""
        when = datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z")
        line = f"{when} {record.levelname} {record.name}: {record.getMessage()}"
        rid = request_id.get()
        if rid is not None:
            line += f" request_id={rid}"
        return f"{line}\n{record.exc_text}" if record.exc_text else line

    def format(self, record: logging.LogRecord) -> str:
        if self.plain and not record.stack_info:
            line = self._plain_text(record)
        else:
            if self._structlog is None:
                self._structlog = _structlog_formatter("text")
            line = self._structlog.format(record)
        if self.journald:
            prio = PRIORITY.get(record.levelname.lower(), 6)
            return "\n".join(f"<{prio}>{part}" for part in line.split("\n"))
        return line


def _structlog_formatter(fmt: str) -> logging.Formatter:
    """structlog's formatter for the JSON lines (and text lines with a stack)."""
    import structlog

    renderer: Any = structlog.processors.JSONRenderer(sort_keys=False) if fmt == "json" else _text
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.stdlib.add_log_level,
            structlog.stdlib.add_logger_name,
            structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
            _add_request_id,
            _exception_text,
        ],
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
    )


def setup(level: str | int = "INFO", fmt: str = "text") -> None:
    """Logging of an edge process: every logger through one redacted handler on stderr.

    The same configuration gunicorn's master gets (``logconfig_dict``): gunicorn's own
    loggers lose their handlers and propagate to it, so its access log and its errors read
    like the app's lines."""
    logging.config.dictConfig(logconfig_dict(level, fmt))


def logconfig_dict(level: str | int, fmt: str) -> dict[str, Any]:
    """The one logging set-up, as a ``dictConfig``: ``setup`` applies it, gunicorn's master
    reads it as its ``logconfig_dict``."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"one": {"()": Formatter, "fmt": fmt}},
        "filters": {"redact": {"()": RedactPersonalData}},
        "handlers": {
            "stderr": {
                "class": "logging.StreamHandler",
                "stream": "ext://sys.stderr",
                "formatter": "one",
                "filters": ["redact"],
            }
        },
        "root": {"level": level, "handlers": ["stderr"]},
        "loggers": {
            "gunicorn.error": {"level": level, "handlers": [], "propagate": True},
            "gunicorn.access": {"level": "INFO", "handlers": [], "propagate": True},
        },
    }
