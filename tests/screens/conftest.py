"""Fixtures of the screens' tests: the real app on a free port (werkzeug in a thread) over
a seeded store database, and Debian's Chromium driven by Playwright (one browser for the
session, a new context per test)."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from werkzeug.serving import make_server

from edge import handlers
from edge.store import db, inbox, state
from edge.web.app import create_app
from tests.support import seeding

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
# read once at collection: tests/conftest.py clears PASSERELLE_* around every test
SAVE_SCREENSHOTS = os.environ.get("PASSERELLE_SCREENSHOTS") == "1"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--autoplay-policy=no-user-gesture-required",
]
KIOSK_VIEWPORT = {"width": 1080, "height": 1920}
STAFF_VIEWPORT = {"width": 1280, "height": 800}


def chromium_path() -> str:
    path = os.environ.get("PASSERELLE_CHROMIUM") or "/usr/bin/chromium"
    if not Path(path).exists():
        raise RuntimeError(
            f"Chromium not found at {path}: run the README's test command (scripts/test.sh), "
            "which installs it, or: sudo apt-get install chromium (or set PASSERELLE_CHROMIUM)"
        )
    return path


def iso(t: datetime) -> str:
    return t.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


@dataclass
class Shop:
    """One running edge: its URL, database and demo data."""

    url: str
    db_path: Path
    demo: dict[str, Any]
    app: Any

    def conn(self) -> sqlite3.Connection:
        return db.connect(self.db_path)

    def count(self, sql: str, *args: Any) -> int:
        c = self.conn()
        try:
            return int(c.execute(sql, args).fetchone()[0])
        finally:
            c.close()

    def deliver(self, type_: str, data: dict[str, Any]) -> None:
        """A down-event from the online store, applied as the sync worker applies it: its
        inbox handler in one write transaction."""
        settings = self.app.config["SETTINGS"]
        ctx = inbox.ApplyContext(
            store_id=settings.store_id, source=settings.up_source, event_id=str(uuid.uuid4())
        )
        c = self.conn()
        try:
            with db.write(c):
                handlers.HANDLERS[type_](c, data, ctx)
        finally:
            c.close()

    def offer(
        self,
        offer_id: str,
        title: dict[str, str],
        kind: str,
        value: int,
        min_total: int = 0,
        skus: list[str] | None = None,
    ) -> None:
        """An offer valid from yesterday for 30 days (``offer.upserted``)."""
        now = datetime.now(UTC)
        self.deliver(
            "offer.upserted",
            {
                "offer_id": offer_id,
                "version": 1,
                "title": title,
                "kind": kind,
                "value": value,
                "min_total": min_total,
                "skus": skus or [],
                "valid_from": iso(now - timedelta(days=1)),
                "valid_until": iso(now + timedelta(days=30)),
                "active": True,
            },
        )

    def coupon(
        self, coupon_id: str, offer_id: str, code: str, customer_id: str | None, channel: str
    ) -> None:
        """One single-use code of an offer, issued an hour ago (``coupon.issued``)."""
        self.deliver(
            "coupon.issued",
            {
                "coupon_id": coupon_id,
                "offer_id": offer_id,
                "code": code,
                "customer_id": customer_id,
                "max_uses": 1,
                "issued_at": iso(datetime.now(UTC) - timedelta(hours=1)),
                "channel": channel,
            },
        )

    def place_order(self, data: dict[str, Any]) -> dict[str, Any]:
        self.deliver("order.placed", data)
        return data

    def set_link(self, connected: bool) -> None:
        now = datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
        c = self.conn()
        try:
            with db.write(c):
                state.put(
                    c,
                    "link",
                    {"connected": connected, "heartbeat_at": now, "last_sync_at": now}
                    if connected
                    else {"connected": False, "down_since": now},
                )
        finally:
            c.close()


@pytest.fixture(scope="session")
def demo_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """The demo shop seeded once (PIN hashes are slow on purpose); each test gets a copy."""
    path = tmp_path_factory.mktemp("demo") / "store.db"
    data = seeding.seed_demo(path, "screens-test")
    return path, data


def copy_demo(demo_db: tuple[Path, dict[str, Any]], db_path: Path) -> dict[str, Any]:
    source, data = demo_db
    shutil.copyfile(source, db_path)
    return data


def _serve(tmp: Path, demo_db: tuple[Path, dict[str, Any]], **config: Any) -> Iterator[Shop]:
    db_path = tmp / "store.db"
    data = copy_demo(demo_db, db_path)
    app = create_app(
        {"DB_PATH": str(db_path), "STORE_ID": "S001", "SECRET_KEY": "screens-test", **config}
    )
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shop = Shop(f"http://127.0.0.1:{server.server_port}", db_path, data, app)
    shop.set_link(True)
    try:
        yield shop
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


@pytest.fixture
def shop(tmp_path: Path, demo_db: tuple[Path, dict[str, Any]]) -> Iterator[Shop]:
    yield from _serve(tmp_path, demo_db)


@pytest.fixture
def idle_shop(tmp_path: Path, demo_db: tuple[Path, dict[str, Any]]) -> Iterator[Shop]:
    """A shop whose kiosk forgets the shopper after 6 s."""
    yield from _serve(tmp_path, demo_db, KIOSK_IDLE_SECONDS=6)


@pytest.fixture
def new_page(browser: Any) -> Iterator[Callable[..., Any]]:
    contexts: list[Any] = []

    def make(viewport: dict[str, int] = STAFF_VIEWPORT) -> Any:
        ctx = browser.new_context(viewport=viewport, locale="fr-FR", timezone_id="Europe/Paris")
        ctx.set_default_timeout(10_000)
        contexts.append(ctx)
        page = ctx.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on(
            "console",
            lambda msg: (
                errors.append(msg.text)
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        page.js_errors = errors
        return page

    yield make
    for ctx in contexts:
        ctx.close()


def pair_kiosk(page: Any, shop: Shop) -> None:
    """Pair the page's browser as a kiosk: the pairing form POSTs the kiosk token (a one-time
    code from ``passerelle kiosk pair-code`` works the same)."""
    page.goto(f"{shop.url}/kiosk/pair")
    page.fill("#code", shop.demo["tokens"]["kiosk"])
    page.locator("form:has(#code) button[type=submit]").click()
    page.wait_for_url(re.compile(r"/kiosk$"))


def kiosk_page(new_page: Callable[..., Any], shop: Shop) -> Any:
    page = new_page(KIOSK_VIEWPORT)
    pair_kiosk(page, shop)
    page.wait_for_selector("#view-welcome:not([hidden])")
    return page


def staff_login(new_page: Callable[..., Any], shop: Shop, screen: str, staff_id: str) -> Any:
    pin = next(s["pin"] for s in shop.demo["staff"] if s["staff_id"] == staff_id)
    page = new_page(STAFF_VIEWPORT)
    page.goto(f"{shop.url}/login?screen={screen}")
    page.locator(f"label.who-card:has(input[value='{staff_id}'])").click()
    for digit in pin:
        page.locator(f".keypad button[data-key='{digit}']").click()
    page.get_by_role("button", name=re.compile("Se connecter|Log in")).click()
    page.wait_for_url(re.compile(f"/{screen}$"))
    return page


def scan(page: Any, code: str) -> None:
    """What a keyboard-wedge scanner does: the whole code in a burst, then Enter, wherever
    the focus is (no field is clicked first). Only once the page's deferred scripts have run
    (DOMContentLoaded): a server-rendered element can show before they do, and keys typed then
    reach no listener (the first digit of a barcode was lost that way on a loaded box)."""
    page.wait_for_load_state("domcontentloaded")
    page.keyboard.type(code, delay=5)
    page.keyboard.press("Enter")


def text(s: str) -> str:
    """Intl puts no-break spaces in money (12,50 €): compare with plain spaces."""
    return s.replace("\u00a0", " ").replace("\u202f", " ")


def screenshot(page: Any, name: str) -> None:
    """The page as docs/screenshots/<name>.png, only when asked (``make screenshots`` sets
    PASSERELLE_SCREENSHOTS=1): an ordinary test run writes nothing into tracked files."""
    if not SAVE_SCREENSHOTS:
        return
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.wait_for_timeout(150)  # let the last paint land
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), animations="disabled")


def check_accessibility(page: Any) -> None:
    """axe-core on the page: no serious or critical violation."""
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    bad = [v for v in results.response["violations"] if v.get("impact") in ("serious", "critical")]
    assert not bad, results.generate_report()
