"""Logs an operator can filter and metrics that count every worker, on a real ``passerelle run``.

The API runs under gunicorn with two workers, as on a store box: every line the box writes
(supervisor, gunicorn master, workers, access log) must be one JSON object when
``log_format = "json"``, carry its journald priority under systemd, and a request's lines
carry its request id; ``/metrics`` must count the requests served by both workers.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import requests

from tests.support import proc
from tests.support.broker import free_port
from tests.support.waiting import wait_until

REQUESTS = 40


def _up(port: int) -> bool:
    try:
        return requests.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
    except requests.RequestException:
        return False


def _requests_counted(text: str, endpoint: str) -> float:
    total = 0.0
    for line in text.splitlines():
        if line.startswith("passerelle_http_requests_total{") and f'endpoint="{endpoint}"' in line:
            total += float(line.rsplit(" ", 1)[1])
    return total


def test_json_lines_with_priorities_request_ids_and_metrics_of_every_worker(
    tmp_path: Path,
) -> None:
    port = free_port()
    environ = proc.env(
        db_path=tmp_path / "store.db", http_port=port, http_workers=2, log_format="json"
    )
    environ["JOURNAL_STREAM"] = "8:12345"  # what systemd sets when stderr is the journal
    seeded = subprocess.run(
        proc.passerelle("demo"), env=environ, cwd=proc.ROOT, capture_output=True, text=True
    )
    assert seeded.returncode == 0, seeded.stderr
    log = tmp_path / "run.log"
    p = proc.start(proc.passerelle("run"), environ, log)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until(lambda: _up(port), timeout=30, what="the API")
        # the supervisor probes /healthz too until it is ready: count only after its probe
        wait_until(lambda: "ready: store" in log.read_text(), timeout=30, what="ready")
        before = _requests_counted(
            requests.get(base + "/metrics", timeout=5).text, "health.healthz"
        )
        mine = requests.get(base + "/healthz", headers={"X-Request-ID": "till-7.42"}, timeout=5)
        assert mine.headers["X-Request-ID"] == "till-7.42"
        made = requests.get(base + "/healthz", headers={"X-Request-ID": "bad id!"}, timeout=5)
        assert re.fullmatch(r"[0-9a-f]{32}", made.headers["X-Request-ID"])
        for _ in range(REQUESTS - 2):  # a new connection each: both workers take some
            assert requests.get(base + "/healthz", timeout=5).status_code == 200
        metrics = requests.get(base + "/metrics", timeout=5).text
        assert _requests_counted(metrics, "health.healthz") - before == REQUESTS
    finally:
        p.terminate()
        p.wait(timeout=30)
    lines = [ln for ln in log.read_text().splitlines() if ln.strip()]
    records = []
    for ln in lines:
        m = re.match(r"^<([0-7])>(.*)$", ln)
        assert m, f"no journald priority: {ln!r}"
        rec = json.loads(m.group(2))  # every line is one JSON object
        assert {"event", "level", "logger", "time"} <= rec.keys(), rec
        expected = {"debug": "7", "info": "6", "warning": "4", "error": "3", "critical": "2"}
        assert m.group(1) == expected[rec["level"]], ln
        records.append(rec)
    loggers = {r["logger"] for r in records}
    assert {"gunicorn.error", "gunicorn.access", "passerelle.run"} <= loggers, loggers
    access = [r for r in records if r["logger"] == "gunicorn.access"]
    assert any("rid=till-7.42" in r["event"] for r in access)
