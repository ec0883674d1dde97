"""The one renderer: a layout from ``hardware.layouts`` plus a job's data → ESC/POS bytes.

It draws on python-escpos's ``Dummy`` printer with the target printer's capability profile,
so all the encoding is python-escpos's own and the result is exact bytes that the worker
sends in one write (and that tests can read back).

Code page. French needs àâäçéèêëîïôöùûüÿ, œ and æ in both cases, and receipts need €. Only
CP1252 (Epson's "WPC1252", ESC t 16) and ISO 8859-15 (ESC t 40) hold all of them in one
table; CP858 has € and the accents but no œ, Œ or Ÿ. ``auto`` takes the first of CP1252,
ISO 8859-15, CP858 that the printer's profile lists, selects it once at the top of every job
(after ESC @, so a printer left in another table by someone else prints right), and never
switches: one job is one table, which is what cheap printers handle best. A character the
chosen table lacks is spelled out (œ → oe) rather than printed as "?"; accents are never
stripped where the table has them.
"""

from __future__ import annotations

import string
import textwrap
import unicodedata
from collections.abc import Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any
from zoneinfo import ZoneInfo

from babel.dates import format_datetime
from babel.numbers import format_currency, format_decimal, get_currency_precision

from hardware.layouts import LAYOUTS, LOCALES, Block, texts

CODEPAGE_PREFERENCE = ("CP1252", "ISO_8859-15", "CP858")
PYTHON_CODECS = {"CP1252": "cp1252", "ISO_8859-15": "iso8859_15", "CP858": "cp858"}
BABEL_LOCALES = {"fr": "fr_FR", "en": "en_GB"}
# Spelled out where the chosen table lacks a character (typographic spaces always).
FALLBACKS = {
    "\u00a0": " ",
    "\u202f": " ",
    "\u2009": " ",
    "œ": "oe",
    "Œ": "OE",
    "Ÿ": "Y",
    "’": "'",
    "‘": "'",
    "“": '"',
    "”": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "€": "EUR",
}


class RenderError(ValueError):
    """The job's data cannot be drawn (unknown document, wrong types): a failed job."""


def choose_codepage(profile: str, wanted: str = "auto") -> str:
    # python-escpos imported at the first job, not with the print worker (hardware.printers)
    from escpos.capabilities import get_profile

    pages = get_profile(profile).get_code_pages()
    if wanted != "auto":
        if wanted not in pages:
            raise RenderError(f"profile {profile!r} has no code page {wanted}")
        return wanted
    for name in CODEPAGE_PREFERENCE:
        if name in pages:
            return name
    raise RenderError(f"profile {profile!r} has none of {', '.join(CODEPAGE_PREFERENCE)}")


def printable(text: str, codepage: str) -> str:
    """The text with what the table cannot hold spelled out (never accents it has).

    Control characters are dropped: product and customer names come from the catalogue
    and the online store, and an ESC or GS inside one would be a printer command (a name
    carrying ``ESC p`` would open the cash drawer)."""
    codec = PYTHON_CODECS[codepage]
    out = []
    for ch in text:
        if unicodedata.category(ch) in ("Cc", "Cf"):
            continue
        if ch in "\u00a0\u202f\u2009":
            out.append(" ")
            continue
        try:
            ch.encode(codec)
            out.append(ch)
        except UnicodeEncodeError:
            out.append(FALLBACKS.get(ch, "?"))
    return "".join(out)


class _Formatter(string.Formatter):
    """Fills a block's template from the data: translations, money, times, numbers."""

    def __init__(self, locale: str, currency: str, timezone: str) -> None:
        super().__init__()
        self.texts = texts(locale)
        self.babel_locale = BABEL_LOCALES[locale]
        self.currency = currency
        self.tz = ZoneInfo(timezone)

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> tuple[Any, str]:
        if field_name.startswith("t."):
            return self.texts.get(field_name[2:], field_name[2:]), field_name
        for alt in field_name.split("|"):
            value = kwargs.get(alt)
            if value not in (None, ""):
                return value, alt
        return None, field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if value is None:
            return ""
        if format_spec == "money":
            return self.money(value)
        if format_spec == "datetime":
            return self.datetime(value)
        if format_spec == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise RenderError(f"expected a whole number, got {value!r}")
            return str(format_decimal(value, locale=self.babel_locale))
        if format_spec == "payment":
            return self.texts.get(str(value), str(value))
        return str(value) if not format_spec else format(value, format_spec)

    def money(self, minor: Any) -> str:
        if not isinstance(minor, int) or isinstance(minor, bool):
            raise RenderError(f"an amount must be a whole number of minor units, got {minor!r}")
        digits = get_currency_precision(self.currency)
        amount = Decimal(minor).scaleb(-digits)
        return str(format_currency(amount, self.currency, locale=self.babel_locale))

    def datetime(self, value: Any) -> str:
        try:
            t = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
        except ValueError as exc:
            raise RenderError(f"not an RFC 3339 time: {value!r}") from exc
        if t.tzinfo is None:
            t = t.replace(tzinfo=UTC)
        return str(format_datetime(t, "short", tzinfo=self.tz, locale=self.babel_locale))


def _present(data: Mapping[str, Any], cond: str) -> bool:
    if not cond:
        return True
    if "," in cond:
        return all(_present(data, c) for c in cond.split(","))
    if "|" in cond:
        return any(_present(data, c) for c in cond.split("|"))
    if cond.startswith("!"):
        return not _present(data, cond[1:])
    if cond.startswith("?"):
        return data.get(cond[1:]) is not None
    return bool(data.get(cond))


def _rows(data: Mapping[str, Any], source: str) -> list[dict[str, Any]]:
    rows = data.get(source) or []
    if not isinstance(rows, list) or not all(isinstance(r, dict) for r in rows):
        raise RenderError(f"{source!r} must be a list of objects")
    out = []
    for r in rows:
        row = {**data, **r}
        qty, price = r.get("qty"), r.get("unit_price")
        if "amount" not in r and isinstance(qty, int) and isinstance(price, int):
            row["amount"] = qty * price
        row["several"] = isinstance(qty, int) and qty > 1
        out.append(row)
    return out


def _dummy(profile: str) -> Any:
    """python-escpos's ``Dummy`` printer (the library imported at the first job)."""
    from escpos.printer import Dummy

    return Dummy(profile=profile)


class Renderer:
    """Draws one document onto a python-escpos Dummy printer and returns its bytes."""

    def __init__(
        self,
        *,
        locale: str,
        width: int,
        profile: str = "default",
        codepage: str = "auto",
        currency: str = "EUR",
        timezone: str = "Europe/Paris",
    ) -> None:
        if locale not in LOCALES:
            locale = "fr"
        self.width = width
        self.profile = profile
        self.codepage = choose_codepage(profile, codepage)
        self.fmt = _Formatter(locale, currency, timezone)
        self.p = _dummy(profile)  # replaced for every job (see render)

    def render(
        self,
        document: str,
        data: Mapping[str, Any],
        *,
        open_drawer: bool = False,
        drawer_pin: int = 2,
    ) -> bytes:
        layout = LAYOUTS.get(document)
        if layout is None:
            raise RenderError(f"unknown document {document!r}")
        # A fresh printer object per job: python-escpos remembers the table it last selected
        # and would skip ESC t on the next job, which the printer (reset by ESC @) needs.
        p = self.p = _dummy(self.profile)
        p.hw("INIT")  # ESC @: whatever the printer was left in, start from its defaults
        p.charcode(self.codepage)  # ESC t n, once per job
        try:
            for block in layout:
                if _present(data, block.when):
                    self._block(block, data)
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, RenderError):
                raise
            raise RenderError(f"{document}: {exc}") from exc
        p.set(align="left", normal_textsize=True, bold=False)
        p.cut()
        if open_drawer:
            # After the cut: a job cut short on the wire never opens the drawer.
            p.cashdraw(drawer_pin)
        return bytes(p.output)

    # -- blocks ------------------------------------------------------------------------------
    def _fill(self, template: str, data: Mapping[str, Any]) -> str:
        return printable(self.fmt.vformat(template, (), dict(data)), self.codepage)

    def _columns(self, size: str) -> int:
        return self.width // 2 if size == "large" else self.width

    def _style(self, block: Block) -> None:
        self.p.set(
            align=block.align,
            bold=block.bold,
            normal_textsize=block.size == "normal",
            double_height=block.size in ("tall", "large"),
            double_width=block.size == "large",
        )

    def _block(self, block: Block, data: Mapping[str, Any]) -> None:
        p = self.p
        if block.kind == "rule":
            p.set(align="left", normal_textsize=True, bold=False)
            p.textln("-" * self.width)
            return
        if block.kind == "feed":
            p.ln()
            return
        if block.kind == "qr":
            content = self.fmt.vformat(block.text, (), dict(data))
            if not content:
                return
            p.set(align=block.align, normal_textsize=True)
            if p.profile.supports("qrCode"):
                p.qr(content, native=True, size=6)
            else:
                p.qr(content, native=False, center=block.align == "center")
            p.ln()
            return
        self._style(block)
        if block.kind == "text":
            self._text(self._fill(block.text, data), block.size)
        elif block.kind == "pair":
            self._pair(self._fill(block.text, data), self._fill(block.value, data), block.size)
        elif block.kind == "each":
            for row in _rows(data, block.source):
                left = ("[ ] " if block.check else "") + self._fill(block.text, row)
                if block.value:
                    self._pair(left, self._fill(block.value, row), block.size)
                else:
                    self._text(left, block.size, indent=4 if block.check else 0)
                if block.detail and _present(row, block.detail_when):
                    self._text(self._fill(block.detail, row), block.size)
        p.set(normal_textsize=True, bold=False)

    def _text(self, text: str, size: str, indent: int = 0) -> None:
        if not text.strip():
            return
        cols = self._columns(size)
        for line in textwrap.wrap(text, cols, subsequent_indent=" " * indent) or [""]:
            self.p.textln(line)

    def _pair(self, left: str, right: str, size: str) -> None:
        cols = self._columns(size)
        if len(left) + 1 + len(right) <= cols:
            self.p.textln(left + " " * (cols - len(left) - len(right)) + right)
            return
        for line in textwrap.wrap(left, cols) or [""]:
            self.p.textln(line)
        if right:
            self.p.textln(right.rjust(cols))
