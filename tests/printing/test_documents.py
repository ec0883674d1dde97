"""Pickup slips, handover receipts and loyalty tickets, queued the way the pickups area does
(``edge.printing.queue.enqueue`` in its transaction) and printed through the emulator in both
languages; the renderer's code-page rules; ``passerelle printer test`` against the emulator."""

from __future__ import annotations

import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from edge.printing import queue
from edge.store import db
from hardware.layouts import LAYOUTS
from hardware.render import Renderer, RenderError, choose_codepage, printable
from tests.printing.decode import decode
from tests.printing.test_receipts import printed
from tests.support import proc

ORDER = {
    "order_id": "W-2026-000123",
    "order_number": "123",
    "customer_name": "Françoise Lefèvre",
    "lines": [
        {"sku": "SKU-MUG", "name": "Mug « Passerelle »", "qty": 2},
        {"sku": "SKU-CREME", "name": "Crème brûlée ×2", "qty": 1},
    ],
    "pickup_by": "2026-12-03T17:00:00Z",
    "collected_at": "2026-12-01T09:30:00Z",
    "staff": "Zoé",
    "total": 2979,
    "currency": "EUR",
    "paid": False,
    "paid_in_store": True,
}  # the shape edge/pickups.py gives


@pytest.mark.parametrize(
    ("locale", "slip", "handover"),
    [
        (
            "fr",
            ["Commande à retirer", "À retirer avant le", "03/12/2026 18:00", "29,79 €"]
            + ["*** À encaisser au retrait ***"],
            ["Reçu de remise de commande", "Remise le", "01/12/2026 10:30", "Remise par Zoé"]
            + ["Payé en magasin", "29,79 €"],
        ),
        (
            "en",
            ["Order to collect", "Collect before", "03/12/2026, 18:00", "€29.79"]
            + ["*** To be paid at collection ***"],
            ["Order handover receipt", "Handed over on", "01/12/2026, 10:30", "by Zoé"]
            + ["Paid in store", "€29.79"],
        ),
    ],
)
def test_pickup_slip_and_handover_receipt_in_both_languages(
    conn, emulator, start_worker, locale, slip, handover
):
    with db.write(conn):
        queue.enqueue(
            conn,
            document="pickup_slip",
            data=ORDER,
            ref=ORDER["order_id"],
            locale=locale,
            printer_role="pickup_slips",
        )
        queue.enqueue(
            conn, document="handover_receipt", data=ORDER, ref=ORDER["order_id"], locale=locale
        )
    start_worker()
    first, second = (decode(j) for j in printed(emulator, 2))
    assert first.code_pages == [16] and first.cuts == 1 and first.drawer_kicks == []
    assert "123" in first.large_text  # the order number, large
    assert "Épicerie Passerelle" in first.large_text
    for text in slip:
        assert text in first.text
    assert "Françoise Lefèvre" in first.text
    assert "[ ] 2 x Mug « Passerelle »" in first.text
    assert "[ ] 1 x Crème brûlée ×2" in first.text
    assert first.qr_codes == ["W-2026-000123"]
    for text in handover:
        assert text in second.text
    assert "Françoise Lefèvre" in second.text and "2 x Mug « Passerelle »" in second.text
    # every job selects its code page again (the printer was reset by ESC @)
    assert second.cuts == 1 and second.code_pages == [16]


def test_loyalty_ticket(conn, emulator, start_worker):
    with db.write(conn):
        queue.enqueue(
            conn,
            document="loyalty_ticket",
            data={
                "customer_name": "Élodie D.",
                "loyalty_card": "PC000000000001",
                "tier": "gold",
                "points_balance": 12500,
                "points_value": 12500,
                "currency": "EUR",
            },
            locale="fr",
            printer_role="tickets",
        )
    start_worker()
    paper = decode(printed(emulator, 1)[0])
    assert "Votre fidélité" in paper.text and "12 500" in paper.text and "125,00 €" in paper.text
    assert paper.qr_codes == ["PC000000000001"]


def test_every_document_has_a_layout_and_unknown_data_fails_cleanly():
    assert set(LAYOUTS) == set(queue.DOCUMENTS)
    r = Renderer(locale="fr", width=32)
    with pytest.raises(RenderError, match="minor units"):
        r.render("sale_receipt", {"total": "12.50"})
    with pytest.raises(RenderError, match="list of objects"):
        r.render("pickup_slip", {"lines": "two mugs"})
    with pytest.raises(RenderError, match="RFC 3339"):
        r.render("pickup_slip", {"pickup_by": "tomorrow"})
    # a slip without payment data says nothing about payment
    assert b"encaisser" not in r.render("pickup_slip", {"order_id": "W-1"})
    with pytest.raises(ValueError, match="unknown printer role"):
        queue.enqueue(None, document="pickup_slip", data={}, printer_role="kitchen")  # type: ignore[arg-type]


def test_a_job_that_cannot_be_drawn_fails_with_the_reason_and_others_go_on(
    conn, emulator, start_worker
):
    with db.write(conn):
        queue.enqueue(conn, document="sale_receipt", data={"total": "lots"}, ref="bad")
        queue.enqueue(conn, document="pickup_slip", data=ORDER, ref="good")
    start_worker()
    printed(emulator, 1)
    rows = conn.execute("SELECT status, last_error FROM print_jobs ORDER BY job_id").fetchall()
    assert rows[0]["status"] == "failed" and "minor units" in rows[0]["last_error"]
    assert rows[1]["status"] == "done"


def test_code_page_choice_and_fallbacks():
    french = "àâäçéèêëîïôöùûüÿœæ ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ €"
    assert choose_codepage("default") == "CP1252"
    assert choose_codepage("TM-T88IV") == "CP1252"
    assert choose_codepage("default", "CP858") == "CP858"
    # CP1252 and ISO 8859-15 hold every French letter and €: nothing is replaced
    assert printable(french, "CP1252") == french
    assert printable(french, "ISO_8859-15") == french
    # CP858 lacks œ, Œ and Ÿ: spelled out, accents kept
    assert printable("cœur Œuvre L'HAŸ", "CP858") == "coeur OEuvre L'HAY"
    assert printable("12,50\u00a0€", "CP858") == "12,50 €"
    paper = decode(Renderer(locale="fr", width=42, codepage="CP858").render("test_page", {}))
    assert paper.code_pages == [19]
    assert "àâäçéèêëîïôöùûüÿoeæ" in paper.text and "€" in paper.text
    paper = decode(Renderer(locale="fr", width=42, codepage="ISO_8859-15").render("test_page", {}))
    assert paper.code_pages == [40] and "ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ" in paper.text


def test_passerelle_printer_test_and_list_against_the_emulator(tmp_path, emulator):
    printers = (
        f'[{{"name": "front", "connection": "network", "host": "127.0.0.1", '
        f'"port": {emulator.port}, "width": 42, "profile": "TM-T88V"}}]'
    )
    env = proc.env(db_path=tmp_path / "s.db", printers=printers, store_name="Épicerie")
    subprocess.run(proc.passerelle("db", "upgrade"), env=env, check=True, timeout=60)
    r = subprocess.run(
        proc.passerelle("printer", "test", "front"), env=env, capture_output=True, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "test page sent to front (127.0.0.1:" in r.stdout.decode()
    assert "code page CP1252, paper ok" in r.stdout.decode()
    paper = decode(printed(emulator, 1)[0])
    assert paper.code_pages == [16] and paper.cuts == 1 and paper.qr_codes == ["front"]
    assert "àâäçéèêëîïôöùûüÿœæ" in paper.text and "ÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆ" in paper.text
    assert "€" in paper.text and "12 345,67 €" in paper.text
    assert "Page de test" in paper.text and "Épicerie" in paper.large_text

    r = subprocess.run(proc.passerelle("printer", "list"), env=env, capture_output=True, timeout=60)
    assert r.returncode == 0 and "front" in r.stdout.decode()
    assert "role pickup_slips: no printer" in r.stdout.decode()

    emulator.down()
    r = subprocess.run(
        proc.passerelle("printer", "test", "front"), env=env, capture_output=True, timeout=60
    )
    assert r.returncode == 1 and b"printer front: cannot open 127.0.0.1" in r.stderr
    r = subprocess.run(
        proc.passerelle("printer", "test", "back"), env=env, capture_output=True, timeout=60
    )
    assert r.returncode == 1 and b"no printer named 'back' (configured: front)" in r.stderr


def test_file_and_dummy_connections(tmp_path, start_worker, settings, conn):
    from hardware.printers import Link

    out = tmp_path / "lp0"
    file_cfg = settings.printers[0].model_copy(
        update={"connection": "file", "path": str(out), "status_query": None}
    )
    with Link(file_cfg) as link:
        assert link.check().online is None
        link.send(b"\x1b@hello\x1dV\x00")
        link.confirm()
    assert out.read_bytes() == b"\x1b@hello\x1dV\x00"
    dummy = settings.printers[0].model_copy(update={"connection": "dummy"})
    with Link(dummy) as link:
        link.send(b"abc")
        assert link.output == b"abc"
    with db.write(conn):
        queue.enqueue(conn, document="pickup_slip", data=ORDER, printer_role="pickup_slips")
    start_worker(settings.model_copy(update={"printers": [file_cfg]}))
    from tests.support.waiting import wait_until

    wait_until(lambda: out.stat().st_size > 100 or None, what="slip written to the file")
    assert "Françoise Lefèvre" in decode(out.read_bytes()).text


NAMES = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), min_size=1, max_size=80
)


@settings(max_examples=60, deadline=None)
@given(
    lines=st.lists(
        st.fixed_dictionaries(
            {
                "name": NAMES,
                "qty": st.integers(1, 9999),
                "unit_price": st.integers(0, 10_000_000),
            }
        ),
        min_size=1,
        max_size=5,
    ),
    customer=NAMES,
    locale=st.sampled_from(["fr", "en"]),
)
def test_any_names_stay_text_within_the_paper_width(lines, customer, locale):
    """Names come from outside (catalogue, online store): whatever they hold, the ticket
    keeps to the width, carries no printer command of theirs, and always ends in one cut."""
    total = sum(ln["qty"] * ln["unit_price"] for ln in lines)
    data = {"lines": lines, "customer_name": customer, "total": total, "sale_id": "s-1"}
    raw = Renderer(locale=locale, width=32).render("sale_receipt", data)
    paper = decode(raw)
    assert paper.cuts == 1 and paper.drawer_kicks == [] and paper.code_pages == [16]
    assert paper.qr_codes == ["s-1"] and paper.inits == 1
    assert all(len(ln) <= 32 for ln in paper.lines)


def test_a_name_cannot_smuggle_printer_commands():
    name = "Mug\x1bp\x00\x19\xfa\x1dV\x00 piégé"
    raw = Renderer(locale="fr", width=42).render(
        "sale_receipt", {"lines": [{"name": name, "qty": 1, "unit_price": 100}]}
    )
    paper = decode(raw)
    assert paper.drawer_kicks == [] and paper.cuts == 1
    assert "1 x MugpúV piégé" in paper.text  # the letters stay, the commands go
