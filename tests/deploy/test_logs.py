"""Nothing personal and no secret in the logs: a real ``passerelle run`` at DEBUG serves
lookups by card and phone, a failed lookup, an enrolment and a sale; its whole output
(gunicorn's access log, the app, the supervisor) must name none of the people involved."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import quote

import requests

from edge.system.logs import redact
from tests.support import proc
from tests.support.broker import free_port
from tests.support.waiting import wait_until

NEW = {
    "first_name": "Aurélien",
    "last_name": "Quaresma-Blot",
    "email": "aurelien.qb@example.net",
    "phone": "+33655443322",
    "loyalty_card": "PC424242424242",
}


def test_redact_covers_what_personal_data_looks_like() -> None:
    line = (
        'GET /api/v1/customers/lookup?card=PC0001 "x" mail a.b@example.fr tel +33612345678 '
        "%2B33612345678 card PC000000000001 Authorization: Bearer pas_pos_abcdefghijklmn"
    )
    out = redact(line)
    for secret in ("PC0001", "a.b@example.fr", "33612345678", "PC000000000001", "abcdefghij"):
        assert secret not in out
    assert redact("sale 3f1c applied at 2026-11-24T10:15:00.123Z, sequence 42") == (
        "sale 3f1c applied at 2026-11-24T10:15:00.123Z, sequence 42"
    )


def test_a_real_process_logs_nothing_personal(tmp_path: Path) -> None:
    port = free_port()
    environ = proc.env(
        db_path=tmp_path / "store.db",
        http_port=port,
        log_level="DEBUG",
        mqtt_password="mqtt-pw-31337",
        online_store_token="shop-token-27182",
    )
    seeded = subprocess.run(
        proc.passerelle("demo"), env=environ, cwd=proc.ROOT, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr
    demo = json.loads(seeded.stdout)
    tokens, card = demo["tokens"], demo["cards"][0]
    log = tmp_path / "run.log"
    p = proc.start(proc.passerelle("run"), environ, log)
    base = f"http://127.0.0.1:{port}/api/v1"

    def get(path: str, role: str) -> requests.Response:
        return requests.get(
            base + path, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=10
        )

    try:
        wait_until(lambda: _up(port), timeout=30, what="the API")
        assert get(f"/customers/lookup?card={card}", "kiosk").status_code == 200
        assert get(f"/customers/lookup?phone={quote('+33612345678')}", "pos").status_code == 200
        assert get("/customers/lookup?card=PC999999999999", "kiosk").status_code == 404
        assert get("/customers/lookup?phone=%2B33600000000", "kiosk").status_code == 403
        made = requests.post(
            base + "/customers",
            json=NEW,
            headers={"Authorization": f"Bearer {tokens['pos']}"},
            timeout=10,
        )
        assert made.status_code == 201, made.text
        sale = requests.post(
            base + "/sales",
            json={
                "terminal_id": "pos-1",
                "customer_id": made.json()["customer_id"],
                "currency": "EUR",
                "lines": [{"sku": "SKU-MUG", "qty": 1}],
            },
            headers={"Authorization": f"Bearer {tokens['pos']}", "Idempotency-Key": "log-1"},
            timeout=10,
        )
        assert sale.status_code == 201, sale.text
        bad = requests.post(
            base + "/customers",
            json=dict(NEW, email="not-an-email " + NEW["email"]),
            headers={"Authorization": f"Bearer {tokens['pos']}"},
            timeout=10,
        )
        assert bad.status_code == 422
    finally:
        p.terminate()
        p.wait(timeout=30)
    out = log.read_text()
    assert "/api/v1/customers/lookup" in out  # the access log is there...
    forbidden = [
        card,
        "PC999999999999",
        "33612345678",
        "33600000000",
        *NEW.values(),
        "mqtt-pw-31337",
        "shop-token-27182",
        *tokens.values(),
    ]
    leaked = [s for s in forbidden if s in out]
    assert leaked == [], leaked


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False
