"""The README's walk-through, step by step, on the real demo (``scripts/demo.sh``): one browser
context with the screens in tabs, as a newcomer opens them (issue 23), a card typed by hand at
a person's pace and the order number typed as printed; then the line the demo prints for the
CLI, and Ctrl-C: quiet, quick, exit 0.

The demo is started once for the module, as ``make demo`` starts it (its own broker, edge
and online store, on free ports, its data in a temp folder), and stopped by the last test.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.screens.conftest import STAFF_VIEWPORT
from tests.support import demo as demo_support
from tests.support import layout, proc
from tests.support.waiting import wait_until

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CARD = "PC000000000001"  # Élodie's card, as printed in the README
BARCODE = "3760123450031"  # Bougie parfumée été, 24,50 €
HUMAN_MS = 120  # a person at a keyboard: far slower than a scanner (under 60 ms a key)
BRISK_MS = 80  # a brisk typist, still no scanner: where the README's step is not about typing
SYNC_S = 30_000  # what crosses the broker (web → store, store → web) on a busy machine


@dataclass
class Demo:
    process: subprocess.Popen[bytes]
    log: Path
    data: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    @property
    def printed(self) -> demo_support.Output:
        return demo_support.Output(self.output())


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Demo]:
    data = tmp_path_factory.mktemp("demo-data")
    log = data.parent / "demo.out"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            # Ctrl-C as at a terminal: a runner started from a background shell (cmd &,
            # nohup, some CI agents) ignores SIGINT and SIGQUIT, the demo would inherit that
            # (bash cannot trap a signal ignored at its start), and the Ctrl-C test below
            # would wait for it in vain. GNU env puts them back to their defaults.
            ["env", "--default-signal=INT,QUIT", "bash", "scripts/demo.sh"],
            cwd=proc.ROOT,
            env=demo_support.environ(data),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, as a terminal's job
        )
    d = Demo(process, log, data)
    try:
        wait_until(
            lambda: demo_support.READY in d.output() or process.poll() is not None,
            timeout=120,
            what="the demo to start",
        )
        assert process.poll() is None, d.output()
        yield d
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()


def test_the_readme_walk_through_in_one_browser(demo: Demo, browser) -> None:
    ctx = browser.new_context(
        viewport=STAFF_VIEWPORT,
        locale="fr-FR",
        timezone_id="Europe/Paris",
        ignore_https_errors=True,  # the demo's own certificate
    )
    ctx.set_default_timeout(15_000)
    try:
        walk(demo, ctx)
    except Exception as exc:  # what the demo said is the first thing to read on a failure
        tail = "\n".join(demo.output().splitlines()[-40:])
        raise AssertionError(f"{exc}\n--- the demo's last lines ---\n{tail}") from exc
    finally:
        ctx.close()


def fresh(page, selector: str) -> str:
    """The text of a part of the page, reloaded (the online store's pages do not poll)."""
    page.reload()
    return str(page.locator(selector).inner_text())


def walk(demo: Demo, ctx) -> None:
    # 1. Web order → pickup board.
    web = ctx.new_page()
    web.goto(demo.printed.web + "/")
    web.get_by_role("link", name="Élodie Durand").click()
    account = web.url
    web.get_by_label("quantity of Mug « Passerelle »").first.fill("1")
    web.get_by_role("button", name="Place the order").click()
    number = re.search(r"Order (W-\d+) placed", web.content()).group(1)
    code = web.locator(".ok .code").inner_text().strip()
    assert re.fullmatch(r"\d{6}", code) and web.locator(".ok ~ .qr svg, .qr svg").count()

    board = ctx.new_page()
    board.goto(demo.printed.edge + "/staff")
    board.locator("label.who-card:has-text('Lucas')").click()
    for digit in "2345":
        board.locator(f".keypad button[data-key='{digit}']").click()
    board.get_by_role("button", name=re.compile("Se connecter")).click()
    card = board.locator(f"#cards-received article[data-number='{number}']")
    expect(card).to_be_visible(timeout=SYNC_S)

    # 2. Kiosk check-in, the number typed as printed on the confirmation.
    kiosk = ctx.new_page()
    kiosk.goto(demo.printed.kiosk_pairing)
    if "/kiosk/pair" in kiosk.url:  # the pairing page, its code filled in: press Pair
        kiosk.locator("form:has(#code) button[type=submit]").click()
    kiosk.wait_for_url(re.compile(r"/kiosk$"))
    kiosk.get_by_role("button", name=re.compile("Retirer une commande")).click()
    kiosk.locator("#order-input").click()
    kiosk.keyboard.type(number, delay=HUMAN_MS)
    kiosk.locator("#code-input").click()
    kiosk.keyboard.type(code, delay=BRISK_MS)
    kiosk.get_by_role("button", name="Je suis arrivé·e").click()
    expect(kiosk.locator("#checkin-title")).to_contain_text(number)
    board.bring_to_front()
    expect(board.locator("#alerts .alert")).to_contain_text(number)

    # 3. Handover on the board; the web account shows it collected.
    board.locator(f"article[data-number='{number}']").get_by_role("button", name="Préparer").click()
    board.locator(f"#cards-preparing article[data-number='{number}']").get_by_role(
        "button", name="Marquer prête"
    ).click()
    board.locator(f"#cards-ready article[data-number='{number}']").get_by_role(
        "button", name="Remettre"
    ).click()
    dialog = board.locator("#handover-dialog")
    for digit in code:
        dialog.locator(f".keypad button[data-key='{digit}']").click()
    dialog.get_by_role("button", name="Confirmer la remise").click()
    expect(dialog).to_be_hidden()
    # the board's message leaves the day's counters and the columns' counts in view
    expect(board.locator("#toast")).to_contain_text(number)
    assert layout.covered(board, "#toast", "section.closed", ".columns h2") == []
    expect(board.locator("#closed-list")).to_contain_text("Retirées : 1")
    web.bring_to_front()
    web.goto(account)
    wait_until(
        lambda: "collected" in fresh(web, "#orders"),
        timeout=SYNC_S / 1000,
        interval=1.0,
        what="the web account to show the order collected",
    )

    # 4. A coupon from the web, e-mailed: on "Sent messages" with its QR code.
    web.goto(demo.printed.web + "/offers")
    web.locator("input[name=title_fr]").fill("10 % sur tout")
    web.locator("input[name=title_en]").fill("10% off everything")
    web.locator("input[name=value]").fill("10")
    web.get_by_role("button", name="Create the offer").click()
    web.goto(account)
    web.get_by_role("button", name="Issue a coupon and e-mail it").click()
    web.wait_for_url(re.compile(r"/messages$"))
    letter = web.locator("article").first
    coupon = re.search(r"votre code ([A-Z0-9]{6,})", letter.inner_text()).group(1)
    assert letter.locator(".qr svg").count() == 1
    # the order confirmation of step 1 is there too, with the order's QR code
    assert number in web.locator("article").nth(1).inner_text()

    # 5. Seen at the kiosk: the card typed by hand, then the coupon code itself.
    kiosk.bring_to_front()
    kiosk.get_by_role("button", name="Terminé").click()
    expect(kiosk.locator("#view-welcome")).to_be_visible()
    kiosk.keyboard.type(CARD, delay=HUMAN_MS)
    expect(kiosk.locator("#typed-bar .typed-text")).to_have_text(CARD)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#member-hello")).to_have_text("Bonjour Élodie !")
    offers = kiosk.locator("#member-offers")
    for _ in range(SYNC_S // 2000):  # the coupon crosses the broker: the shopper scans again
        if coupon in offers.inner_text():
            break
        kiosk.get_by_role("button", name="Terminé").click()
        time.sleep(2)
        kiosk.keyboard.type(CARD, delay=20)
        kiosk.keyboard.press("Enter")
        expect(kiosk.locator("#member-hello")).to_have_text("Bonjour Élodie !")
    expect(offers).to_contain_text(coupon)
    kiosk.get_by_role("button", name="Terminé").click()
    kiosk.keyboard.type(coupon, delay=BRISK_MS)
    kiosk.keyboard.press("Enter")
    expect(kiosk.locator("#coupon-code")).to_have_text(coupon)
    expect(kiosk.locator("#coupon-icon")).to_have_text("✓")
    assert "Élodie" not in kiosk.locator("#view-coupon").inner_text()

    # 6. Redeemed at the till.
    pos = ctx.new_page()
    pos.goto(demo.printed.edge + "/pos")
    pos.locator("label.who-card:has-text('Inès')").click()
    for digit in "3456":
        pos.locator(f".keypad button[data-key='{digit}']").click()
    pos.get_by_role("button", name=re.compile("Se connecter")).click()
    pos.wait_for_url(re.compile(r"/pos$"))
    pos.keyboard.type(CARD, delay=BRISK_MS)
    pos.keyboard.press("Enter")
    expect(pos.locator("#customer-name")).to_have_text("Élodie Durand")
    pos.keyboard.type(BARCODE, delay=BRISK_MS)
    pos.keyboard.press("Enter")
    expect(pos.locator("#basket-lines tr")).to_have_count(1)
    pos.locator("#search-input").click()
    pos.keyboard.type(coupon, delay=BRISK_MS)
    pos.keyboard.press("Enter")
    expect(pos.locator(f".coupon-row[data-code='{coupon}']")).to_contain_text("−2,45")
    pos.get_by_role("button", name="Payé par carte").click()
    expect(pos.locator("#sale-done-title")).to_contain_text("Vente enregistrée")

    # 7. The store sale and the spent coupon on the web.
    web.bring_to_front()
    web.goto(account)
    wait_until(
        lambda: "store S001" in fresh(web, "#purchases"),
        timeout=SYNC_S / 1000,
        interval=1.0,
        what="the store sale on the web account",
    )
    wait_until(
        lambda: "spent" in fresh(web, "#coupons"),
        timeout=SYNC_S / 1000,
        interval=1.0,
        what="the coupon spent on the web account",
    )
    # the screens kept their sessions all along, in one browser
    board.bring_to_front()
    board.reload()
    expect(board.locator("#closed-list")).to_contain_text("Retirées : 1")


def test_the_cli_line_the_demo_prints_reads_the_demos_data(demo: Demo) -> None:
    m = re.search(r"Command line\s+(\S+) --config (\S+) sync status", demo.output())
    assert m, demo.output()
    exe, config = m.groups()
    r = subprocess.run(
        [exe, "--config", config, "sync", "status"],
        env=proc.env(),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert r.returncode == 0, r.stderr
    assert re.search(r"^store\s+S001$", r.stdout, re.M)
    assert f"database {demo.data / 'store.db'}" in r.stderr


def test_ctrl_c_stops_the_demo_quietly_within_3_seconds(demo: Demo) -> None:
    """Last of the module: it stops the demo."""
    before = len(demo.output())
    started = time.monotonic()
    os.killpg(demo.process.pid, signal.SIGINT)  # what Ctrl-C sends to the terminal's job
    code = demo.process.wait(timeout=30)
    took = time.monotonic() - started
    said = demo.output()[before:]
    assert code == 0, said
    # The bound (3 s): the script kills what has not stopped after 2 s by itself.
    assert took < 3.0, (took, said)
    bad = [ln for ln in said.splitlines() if demo_support.TROUBLE.search(ln)]
    assert bad == [], said
    assert "stopping the demo" in said
