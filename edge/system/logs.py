"""Logging without personal data or secrets.

The code logs ids, never people; this filter is the second line: whatever a message, an
exception's text or a library's log line carries, e-mail addresses, phone numbers, card-like
numbers, query strings and API tokens are replaced before a handler writes them. It sits on
the handlers (filters on a logger do not see records propagated from its children).
"""

from __future__ import annotations

import logging
import re
import sys

PATTERNS: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"pas_[a-z]+_[A-Za-z0-9_-]{8,}"), "[token]"),
    (re.compile(r"(?i)(bearer\s+)\S+"), r"\1[token]"),
    (re.compile(r"[^\s@\"'<>(),;:]+@[^\s@\"'<>(),;:]+\.[A-Za-z]{2,}"), "[email]"),
    (re.compile(r"(?:\+|%2B|%2b)\d{7,15}\b"), "[phone]"),
    (re.compile(r"(/[^\s?\"']*)\?[^\s\"']+"), r"\1?[query]"),
    (re.compile(r"\b[A-Za-z]{0,4}-?\d{8,}\b"), "[number]"),
]


def redact(text: str) -> str:
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


def install(*logger_names: str) -> None:
    """Put the filter on every handler of these loggers (root: "")."""
    for name in logger_names:
        for handler in logging.getLogger(name).handlers:
            if not any(isinstance(f, RedactPersonalData) for f in handler.filters):
                handler.addFilter(RedactPersonalData())


def setup(level: str | int = "INFO") -> None:
    """Logging of an edge process: stderr (the journal under systemd), redacted."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr
    )
    install("", "gunicorn.error", "gunicorn.access")
