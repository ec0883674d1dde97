"""Printers from configuration, following python-escpos's split: one abstract printer
(``escpos.escpos.Escpos`` does all the encoding) and one class per connection (Network, Usb,
Serial, File, Dummy) that only opens, closes and moves bytes.

What python-escpos leaves implicit, a store needs explicit: the connection is opened and
closed by ``Link`` (never lazily on first use, never in ``__del__``), every operation has a
timeout, and every failure becomes a ``PrinterError`` whose ``kind`` the queue stores on the
job (``unreachable``, ``offline``, ``no_paper``, ``send_failed``, ``unconfirmed``,
``unsupported``).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escpos.escpos import Escpos

from hardware.config import PrinterConfig

log = logging.getLogger("passerelle.print")

# Retried later (the printer may come back); anything else is a failed job.
TRANSIENT = frozenset({"unreachable", "offline", "no_paper", "send_failed", "unconfirmed"})


class PrinterError(Exception):
    """A printer that could not take a job; ``kind`` says why, ``message`` says it in words."""

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message

    @property
    def transient(self) -> bool:
        return self.kind in TRANSIENT


@dataclass(frozen=True)
class PrinterStatus:
    """What the printer said about itself; ``None`` where the connection cannot ask."""

    online: bool | None
    paper: str | None  # ok, low, out

    @property
    def ready(self) -> bool:
        return self.online is not False and self.paper != "out"

    def problem(self) -> PrinterError | None:
        if self.online is False:
            return PrinterError("offline", "the printer reports it is offline (cover open?)")
        if self.paper == "out":
            return PrinterError("no_paper", "the printer is out of paper")
        return None


def describe(cfg: PrinterConfig) -> str:
    """Where the printer is, in the words of its configuration (for lists and messages)."""
    if cfg.connection == "network":
        return f"{cfg.host}:{cfg.port}"
    if cfg.connection == "usb":
        return f"usb {cfg.vendor_id or 0:04x}:{cfg.product_id or 0:04x}"
    if cfg.connection == "serial":
        return f"{cfg.device} at {cfg.baudrate} baud"
    if cfg.connection == "file":
        return str(cfg.path)
    return "dummy (bytes kept in memory)"


def _escpos_error() -> type[Exception]:
    """python-escpos's error class. python-escpos (with Pillow, qrcode, pyusb, pyserial and
    PyYAML) is imported when a printer is first used, not when the print worker is loaded:
    a box without a printer (or before its first job) keeps those 10 MB out of its memory."""
    from escpos.exceptions import Error

    return Error


def make_printer(cfg: PrinterConfig) -> Escpos:
    from escpos import printer as escpos_printer

    """A python-escpos printer for the configuration, not yet opened."""
    profile = cfg.profile
    if cfg.connection == "network":
        return escpos_printer.Network(
            host=cfg.host or "", port=cfg.port, timeout=cfg.timeout, profile=profile
        )
    if cfg.connection == "usb":
        if not escpos_printer.Usb.is_usable():
            raise PrinterError("unsupported", "usb printers need the pyusb package")
        return escpos_printer.Usb(
            idVendor=cfg.vendor_id,
            idProduct=cfg.product_id,
            timeout=int(cfg.timeout * 1000),  # pyusb counts milliseconds
            profile=profile,
        )
    if cfg.connection == "serial":
        if not escpos_printer.Serial.is_usable():
            raise PrinterError("unsupported", "serial printers need the pyserial package")
        return escpos_printer.Serial(
            devfile=cfg.device or "", baudrate=cfg.baudrate, timeout=cfg.timeout, profile=profile
        )
    if cfg.connection == "file":
        return escpos_printer.File(devfile=cfg.path or "", profile=profile)
    return escpos_printer.Dummy(profile=profile)


class Link:
    """One open connection to one printer, for one job or one status check.

    ``with Link(cfg) as link: link.check(); link.send(data); link.confirm()``.
    """

    def __init__(self, cfg: PrinterConfig) -> None:
        self.cfg = cfg
        self.printer: Escpos | None = None

    def __enter__(self) -> Link:
        self.open()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def open(self) -> None:
        p = make_printer(self.cfg)
        try:
            if self.cfg.connection != "dummy":
                p.open()
        except (_escpos_error(), OSError) as exc:
            raise PrinterError(
                "unreachable", f"cannot open {describe(self.cfg)}: {_one_line(exc)}"
            ) from exc
        self.printer = p

    def close(self) -> None:
        p, self.printer = self.printer, None
        if p is None:
            return
        try:
            p.close()
        except Exception as exc:  # a failing close must not hide what happened before
            log.warning("printer %s: close failed: %s", self.cfg.name, exc)
        # Escpos.__del__ would close again (and reopen lazily on a property access): the
        # closed flag makes that a no-op.
        p._device = False

    def _escpos(self) -> Escpos:
        if self.printer is None:
            raise PrinterError("unreachable", "the connection is not open")
        return self.printer

    def status(self) -> PrinterStatus:
        """Ask the printer (DLE EOT 1 and 4) where the connection can read an answer.

        A printer that does not answer within the timeout is reported as unreachable: a
        network printer that accepts the connection but never answers a real-time status
        request is either hung or does not speak ESC/POS status (then set
        ``status_query = false``)."""
        if not self.cfg.queries_status:
            return PrinterStatus(online=None, paper=None)
        p = self._escpos()
        try:
            online = p.is_online()
            if not online:
                return PrinterStatus(online=False, paper=None)
            paper = {2: "ok", 1: "low", 0: "out"}.get(p.paper_status(), "out")
        except TimeoutError as exc:
            raise PrinterError(
                "unreachable",
                f"{describe(self.cfg)} did not answer a status request (for a printer that "
                "never answers them, set status_query = false)",
            ) from exc
        except (_escpos_error(), OSError) as exc:
            raise PrinterError("unreachable", f"status request failed: {_one_line(exc)}") from exc
        return PrinterStatus(online=True, paper=paper)

    def check(self) -> PrinterStatus:
        """Status, raising the matching PrinterError when the printer cannot print now."""
        st = self.status()
        problem = st.problem()
        if problem is not None:
            raise problem
        return st

    def send(self, data: bytes) -> None:
        """Hand the job's bytes to the connection in one write."""
        p = self._escpos()
        try:
            p._raw(data)
            flush = getattr(p, "flush", None)
            if callable(flush):
                flush()
        except (_escpos_error(), OSError) as exc:
            raise PrinterError("send_failed", f"sending failed: {_one_line(exc)}") from exc

    def confirm(self) -> None:
        """Make sure the printer itself has the bytes, not only our socket buffer.

        A real-time status request travels behind the job on the same connection, so its
        answer proves the printer read everything before it. Without status queries the
        write returning is all we can know."""
        if not self.cfg.queries_status:
            return
        try:
            self.status()
        except PrinterError as exc:
            raise PrinterError(
                "unconfirmed", f"the printer did not confirm the job: {exc.message}"
            ) from exc

    @property
    def output(self) -> bytes:
        """What a dummy printer received (tests, ``printer test`` on a dummy)."""
        p = self._escpos()
        out: Any = getattr(p, "output", b"")
        return bytes(out)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


def probe(cfg: PrinterConfig) -> tuple[PrinterStatus | None, PrinterError | None]:
    """Open, ask, close: the state of an idle printer."""
    try:
        with Link(cfg) as link:
            st = link.status()
    except PrinterError as exc:
        return None, exc
    return st, st.problem()
