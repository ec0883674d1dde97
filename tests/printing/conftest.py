"""Printing fixtures: the emulated network printer, an app whose receipts go to it, and the
print worker running in a thread of the test (the crash test runs it as a real process)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from edge.config import Settings
from edge.printing import worker
from tests.printing.emulator import PrinterEmulator


@pytest.fixture
def emulator() -> Iterator[PrinterEmulator]:
    printer = PrinterEmulator().up()
    yield printer
    printer.close()


def printer_entry(port: int, **extra: Any) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": "front",
        "connection": "network",
        "host": "127.0.0.1",
        "port": port,
        "width": 42,
        "profile": "TM-T88V",
        "roles": ["receipts", "pickup_slips", "tickets"],
        "timeout": 10.0,  # generous: a loaded test machine must not look like a hung printer
        "cash_drawer": True,
    }
    entry.update(extra)
    return entry


@pytest.fixture
def printers(emulator: PrinterEmulator) -> list[dict[str, Any]]:
    return [printer_entry(emulator.port)]


@pytest.fixture
def app_config(db_path: Path, printers: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "DB_PATH": str(db_path),
        "STORE_ID": "S001",
        "STORE_NAME": "Épicerie Passerelle",
        "TESTING": True,
        "SECRET_KEY": "test",
        "PRINTERS": printers,
        "PRINT_RETRY_MAX_SECONDS": 0.5,
        "PRINT_STATUS_INTERVAL": 0.5,
    }


@pytest.fixture
def settings(app: Flask) -> Settings:
    s: Settings = app.config["SETTINGS"]
    return s


@pytest.fixture
def start_worker(settings: Settings) -> Iterator[Callable[..., threading.Event]]:
    """Start the print worker (in a thread) when the test wants it; stopped at the end."""
    running: list[tuple[threading.Event, threading.Thread]] = []

    def start(custom: Settings | None = None) -> threading.Event:
        stop = threading.Event()
        t = threading.Thread(target=worker.run, args=(custom or settings, stop), daemon=True)
        t.start()
        running.append((stop, t))
        return stop

    yield start
    for stop, t in running:
        stop.set()
        t.join(timeout=15)
