"""The print queue under faults: printer down, offline, out of paper, no printer for a role,
and the worker killed mid-queue. Counted: what was queued, what reached the printer."""

from __future__ import annotations

import signal
import sqlite3
from pathlib import Path
from typing import Any

from edge.config import load_settings
from edge.printing import queue
from edge.store import db
from tests.printing.conftest import printer_entry
from tests.printing.decode import decode
from tests.printing.emulator import PrinterEmulator
from tests.printing.test_receipts import printed, sell
from tests.support import proc
from tests.support.waiting import wait_until


def statuses(conn: sqlite3.Connection) -> list[str]:
    return [r[0] for r in conn.execute("SELECT status FROM print_jobs ORDER BY job_id")]


def test_printer_down_jobs_wait_then_print_exactly_once_in_order(
    client, headers, seeded, conn, emulator, start_worker
):
    emulator.down()
    start_worker()
    sales = [
        sell(client, headers, f"k{i}", customer_id=cid, payment_method="cash")
        for i, cid in enumerate(("c-0001", "c-0002", "c-0003"))
    ]
    wait_until(lambda: statuses(conn) == ["waiting"] * 3 or None, what="three waiting jobs")
    head = conn.execute("SELECT * FROM print_jobs ORDER BY job_id LIMIT 1").fetchone()
    assert "cannot open 127.0.0.1" in head["last_error"] and head["next_try_at"]
    ready = client.get("/readyz").json
    assert "printers_failing" in ready["degraded"]
    assert ready["printing"]["jobs_open"] == 3
    assert ready["printing"]["printers_failing"] == 1  # counts only on /readyz (issue 19)
    listed = client.get("/api/v1/print-jobs?status=waiting", headers=headers("staff")).json
    assert len(listed["items"]) == 3
    printers = client.get("/api/v1/printers", headers=headers("staff")).json["items"]
    assert printers[0]["ok"] is False and printers[0]["open_jobs"] == 3

    emulator.up()
    wait_until(lambda: statuses(conn) == ["done"] * 3 or None, timeout=30, what="all printed")
    papers = [decode(j) for j in printed(emulator, 3)]
    assert [p.qr_codes for p in papers] == [[s["sale_id"]] for s in sales]
    assert [p.drawer_kicks for p in papers] == [[0], [0], [0]]
    assert all("DUPLICATA" not in p.text and "interruption" not in p.text for p in papers)
    wait_until(lambda: client.get("/readyz").json["printing"]["printers_failing"] == 0 or None)
    metrics = client.get("/metrics").get_data(as_text=True)
    assert 'passerelle_print_jobs{status="done"} 3.0' in metrics
    assert 'passerelle_printer_up{printer="front"} 1.0' in metrics


def test_offline_and_out_of_paper_wait_with_the_reason(
    client, headers, seeded, conn, emulator, start_worker
):
    emulator.paper_out = True
    start_worker()
    sell(client, headers, "k1")
    wait_until(lambda: statuses(conn) == ["waiting"] or None, what="job waiting for paper")
    job = conn.execute("SELECT * FROM print_jobs").fetchone()
    assert job["last_error"] == "the printer is out of paper"
    front = client.get("/api/v1/printers", headers=headers("pos")).json["items"][0]
    assert front["ok"] is False and front["paper"] == "out" and front["online"] is True
    assert front["last_error"] == "the printer is out of paper"
    emulator.paper_out, emulator.offline = False, True
    wait_until(
        lambda: "offline" in (conn.execute("SELECT last_error FROM print_jobs").fetchone()[0]),
        what="offline reported",
    )
    assert emulator.jobs() == []
    emulator.offline = False
    wait_until(lambda: statuses(conn) == ["done"] or None, what="printed once back")
    # the printer's side of the connection closes a moment after the worker marks the job done
    assert len(printed(emulator, 1)) == 1
    job = conn.execute("SELECT * FROM print_jobs").fetchone()
    assert job["attempts"] >= 3 and job["done_at"] and job["last_error"] is None


def test_a_role_without_printer_waits_visibly(client, headers, seeded, conn, start_worker):
    with db.write(conn):
        queue.enqueue(conn, document="loyalty_ticket", data={"points_balance": 5}, ref="c-1")
    assert statuses(conn) == ["queued"]
    # this store's only printer takes receipts, not loyalty tickets
    from edge.config import Settings

    app_settings: Settings = client.application.config["SETTINGS"]
    only_receipts = app_settings.model_copy(
        update={"printers": [app_settings.printers[0].model_copy(update={"roles": ["receipts"]})]}
    )
    with db.write(conn):
        conn.execute("UPDATE print_jobs SET printer_role = 'tickets'")
    start_worker(only_receipts)
    wait_until(lambda: statuses(conn) == ["waiting"] or None, what="job held")
    job = client.get("/api/v1/print-jobs", headers=headers("staff")).json["items"][0]
    assert job["last_error"] == "no printer is configured for role tickets"


def test_retry_api(client, headers, seeded, conn):
    sale = sell(client, headers, "k1")
    job_id = conn.execute("SELECT job_id FROM print_jobs").fetchone()[0]
    with db.write(conn):
        conn.execute(
            "UPDATE print_jobs SET status = 'failed', last_error = 'x', next_try_at = '2999'"
        )
    r = client.post(f"/api/v1/print-jobs/{job_id}/retry", headers=headers("staff"))
    assert r.status_code == 200 and r.json["status"] == "queued" and r.json["next_try_at"] is None
    with db.write(conn):
        conn.execute("UPDATE print_jobs SET status = 'done'")
    r = client.post(f"/api/v1/print-jobs/{job_id}/retry", headers=headers("staff"))
    assert r.status_code == 409 and r.json["error"]["code"] == "already_printed"
    assert client.post("/api/v1/print-jobs/999/retry", headers=headers("pos")).status_code == 404
    assert client.post("/api/v1/print-jobs/abc/retry", headers=headers("pos")).status_code == 404
    assert client.post("/api/v1/print-jobs/1/retry", headers=headers("kiosk")).status_code == 403
    r = client.get("/api/v1/print-jobs?status=bogus", headers=headers("staff"))
    assert r.status_code == 422 and r.json["error"]["field"] == "status"
    r = client.get("/api/v1/print-jobs?status=done", headers=headers("staff"))
    assert [j["ref"] for j in r.json["items"]] == [sale["sale_id"]]


def _worker_process(tmp_path: Path, db_path: Path, port: int, fault: str | None) -> Any:
    env = proc.env(
        db_path=db_path,
        store_name="Épicerie Passerelle",
        printers=f'[{{"name": "front", "connection": "network", "host": "127.0.0.1", '
        f'"port": {port}, "width": 42, "profile": "TM-T88V", "cash_drawer": true}}]',
        print_retry_max_seconds=0.5,
    )
    if fault:
        env["PASSERELLE_FAULT"] = fault
    return proc.start(proc.passerelle("worker", "print"), env, tmp_path / "worker.log")


def test_worker_killed_after_sending_resumes_without_loss(
    tmp_path, client, headers, seeded, conn, db_path, emulator
):
    sales = [sell(client, headers, f"k{i}", payment_method="cash") for i in range(3)]
    worker = _worker_process(tmp_path, db_path, emulator.port, "print_after_send_before_done:2")
    assert worker.wait(timeout=60) == -signal.SIGKILL
    # killed after the second receipt went out, before it was marked done
    assert statuses(conn) == ["done", "printing", "queued"]
    assert len(printed(emulator, 2)) == 2

    worker = _worker_process(tmp_path, db_path, emulator.port, None)
    try:
        wait_until(lambda: statuses(conn) == ["done"] * 3 or None, timeout=30, what="resumed")
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=30)
    papers = [decode(j) for j in printed(emulator, 4)]
    ids = [s["sale_id"] for s in sales]
    # nothing lost, in order; the one receipt in the crash window comes out twice, the second
    # time marked as such and without opening the drawer again
    assert [p.qr_codes[0] for p in papers] == [ids[0], ids[1], ids[1], ids[2]]
    assert "Réimpression après interruption" in papers[2].text
    assert [p.drawer_kicks for p in papers] == [[0], [0], [], [0]]
    interrupted = conn.execute("SELECT interrupted FROM print_jobs ORDER BY job_id").fetchall()
    assert [r[0] for r in interrupted] == [0, 1, 0]


def test_a_bad_printer_configuration_stops_the_start_naming_the_key(tmp_path, monkeypatch):
    import pytest

    from edge.config import ConfigError

    monkeypatch.setenv("PASSERELLE_PRINTERS", "[{name: front")
    with pytest.raises(ConfigError, match=r"PASSERELLE_PRINTERS \(printers\): must be JSON"):
        load_settings()
    monkeypatch.delenv("PASSERELLE_PRINTERS")

    with pytest.raises(ConfigError, match=r"PASSERELLE_PRINTERS \(printers\[0\]\).*needs 'host'"):
        load_settings(db_path=tmp_path / "x.db", printers=[{"name": "a"}])
    with pytest.raises(ConfigError, match=r"printers\[0\]\.width"):
        load_settings(printers=[printer_entry(9100, width=10)])
    with pytest.raises(ConfigError, match=r"printers\[0\]\.profile.*unknown"):
        load_settings(printers=[printer_entry(9100, profile="NoSuchPrinter")])
    with pytest.raises(ConfigError, match=r"repeated: front"):
        load_settings(printers=[printer_entry(9100), printer_entry(9101)])
    env = proc.env(db_path=tmp_path / "x.db", printers='[{"name": "a", "connection": "usb"}]')
    import subprocess

    r = subprocess.run(proc.passerelle("worker", "print"), env=env, capture_output=True, timeout=60)
    assert r.returncode != 0
    assert b"PASSERELLE_PRINTERS (printers[0])" in r.stderr and b"vendor_id" in r.stderr


def test_emulator_counts_match_jobs(emulator: PrinterEmulator) -> None:
    """The emulator itself: a connection that only asks for status is not a printed job."""
    import socket

    with socket.create_connection(("127.0.0.1", emulator.port)) as s:
        s.sendall(b"\x10\x04\x01")
        assert s.recv(1) == b"\x12"
    wait_until(lambda: all(c.closed for c in emulator.connections) or None)
    assert emulator.jobs() == []


def test_a_job_the_printer_never_confirmed_is_sent_again_marked(
    client, headers, seeded, conn, emulator, start_worker, settings
):
    """The printer answered before the job (online, paper) but not after it: the bytes may or
    may not be on paper, so the job is sent again, marked, without a second drawer kick."""
    sale = sell(client, headers, "k1", payment_method="cash")
    emulator.answers_left = 2
    front = settings.printers[0].model_copy(update={"timeout": 1.0})
    start_worker(settings.model_copy(update={"printers": [front]}))
    wait_until(lambda: statuses(conn) == ["waiting"] or None, what="unconfirmed job waiting")
    job = conn.execute("SELECT * FROM print_jobs").fetchone()
    assert "did not confirm" in job["last_error"] and job["interrupted"] == 1
    emulator.answers_left = None
    wait_until(lambda: statuses(conn) == ["done"] or None, what="sent again")
    first, again = (decode(j) for j in printed(emulator, 2))
    assert first.qr_codes == again.qr_codes == [sale["sale_id"]]
    assert first.drawer_kicks == [0] and again.drawer_kicks == []
    assert "Réimpression après interruption" in again.text
