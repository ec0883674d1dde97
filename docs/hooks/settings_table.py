"""MkDocs hook: the configuration reference, generated from ``edge.config`` at build time.

``configuration.md`` holds the marker ``<!-- passerelle:settings -->``. This hook replaces it
with two tables, one row per field of ``Settings`` and of ``PrinterConfig`` (the
``[[printers]]`` entries): the TOML key and its environment variable, the type and the limits
pydantic enforces, the default, and what the key means.

Everything in a row comes from the code, the meaning included: it is the field's own
``Field(description=...)``, or the docstring under the field (``Settings``), so a key is
documented where it is defined and the page cannot drift from it. The docstrings are read
here, with pydantic's own extraction, rather than at every import of ``edge.config``
(``use_attribute_docstrings``: 50 ms of each process's start on a store box). A field
without a description, or a page without the marker, is logged as a warning: ``mkdocs build
--strict`` then fails.

Only the class is read (``model_fields``), never an instance: the environment of the machine
that builds the docs cannot change the defaults shown.
"""

from __future__ import annotations

import json
import logging
import types
import typing
from pathlib import PurePath
from typing import Any

from pydantic import BaseModel

# What use_attribute_docstrings runs: private, but pydantic is pinned (requirements/) and
# tests/docs/test_docs_site.py reads every setting's meaning through it.
from pydantic._internal._docs_extraction import extract_docstrings_from_cls
from pydantic.fields import FieldInfo

MARKER = "<!-- passerelle:settings -->"
PAGE = "configuration.md"
log = logging.getLogger("mkdocs.plugins.passerelle.settings")  # under "mkdocs": counted by --strict


def type_text(annotation: Any) -> str:
    """A reader's name for a field's type: ``int``, ``path, optional``, ``one of `a`, `b```."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (types.UnionType, typing.Union):
        inner = [a for a in args if a is not type(None)]
        text = " or ".join(type_text(a) for a in inner)
        return f"{text}, optional" if len(inner) < len(args) else text
    if origin is list:
        return "list of " + type_text(args[0]).removeprefix("one of ")
    if origin is dict:
        return f"table of {type_text(args[0])} → {type_text(args[1])}"
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return "printer (below)"
    if isinstance(annotation, type) and issubclass(annotation, PurePath):
        return "path"
    return {str: "text", int: "integer", float: "number", bool: "boolean"}.get(
        annotation, str(annotation)
    )


def default_text(field: FieldInfo) -> str:
    if field.is_required():
        return "required"
    value = field.default
    if value is None:
        return "–"
    if isinstance(value, PurePath):
        value = str(value)
    if isinstance(value, dict | list):
        return f"`{json.dumps(value)}`" if value else "none"
    return f"`{json.dumps(value) if isinstance(value, str | bool) else value}`"  # as in TOML


def limits_text(field: FieldInfo) -> str:
    """The constraints pydantic checks at start-up (``ge``, ``le``, ``pattern``, ...)."""
    words = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "at least", "pattern": ""}
    out = []
    for meta in field.metadata:
        for attr, word in words.items():
            value = getattr(meta, attr, None)
            if value is not None:
                out.append(f"`{value}`" if attr == "pattern" else f"{word} {value}")
    return ", ".join(out)


def meanings(model: type[BaseModel]) -> dict[str, str]:
    """What each field of ``model`` means, on one line: its ``Field(description=...)``, else
    the docstring under it in the class that declares it ("" when it has neither)."""
    docstrings: dict[type, dict[str, str]] = {}
    out: dict[str, str] = {}
    for name, field in model.model_fields.items():
        text = field.description
        if not text:
            owner = next(
                (c for c in model.__mro__ if name in vars(c).get("__annotations__", {})), None
            )
            if owner is not None:
                if owner not in docstrings:
                    docstrings[owner] = extract_docstrings_from_cls(owner, use_inspect=True)
                text = docstrings[owner].get(name)
        out[name] = " ".join((text or "").split())  # docstrings wrap lines
    return out


def table(model: type[BaseModel], env: bool) -> str:
    """One Markdown table for ``model``; ``env``: name the ``PASSERELLE_<KEY>`` variable too."""
    head = ["key", "type and limits", "default", "meaning"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    described = meanings(model)
    for name, field in model.model_fields.items():
        meaning = described[name]
        if not meaning:
            log.warning("%s.%s has no Field(description=...)", model.__name__, name)
            meaning = "**undocumented**"
        key = f"`{name}`" + (f"<br>`PASSERELLE_{name.upper()}`" if env else "")
        kind = ", ".join(filter(None, [type_text(field.annotation), limits_text(field)]))
        cells = [key, kind, default_text(field), meaning]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines)


def render() -> str:
    """Both tables: the edge's settings, then the keys of each ``[[printers]]`` entry."""
    from edge.config import PrinterConfig, Settings

    return (
        table(Settings, env=True)
        + "\n\n### `[[printers]]`\n\nEach entry of the `printers` list:\n\n"
        + table(PrinterConfig, env=False)
    )


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        log.warning("%s lost its %s marker: the settings table is not generated", PAGE, MARKER)
        return markdown
    return markdown.replace(MARKER, render())
