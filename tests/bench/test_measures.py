"""The harness's own arithmetic and its fair baseline, checked without running a benchmark:
the cost breakdown's charging of samples, the lookup rounds added up, the figures' targets,
and the bare app keeping one connection per server thread as the product does."""

from __future__ import annotations

import importlib
import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from bench import lookup, profile, report
from bench.figures import figures


def test_each_sample_goes_to_the_innermost_part_it_names() -> None:
    limiter = "view (edge/web/routing.py);hit (edge/web/limits.py);acquire (threading.py)"
    assert profile.part_of(limiter) == "rate limiter"
    query = "view (edge/web/routing.py);history (edge/customers/views.py)"
    assert profile.part_of(query) == "SQL and read model"
    assert profile.part_of("run (gunicorn/workers/gthread.py);sendall (socket.py)") == (
        "gunicorn (HTTP, sockets, access log)"
    )
    assert profile.part_of("run (gunicorn/workers/gthread.py);handle (edge/web/worker.py)") == (
        "gunicorn (HTTP, sockets, access log)"
    )
    assert profile.part_of("something (elsewhere.py)") == profile.OTHER


def test_the_breakdown_shares_the_cpu_by_samples_and_keeps_the_rest_outside_the_gil(
    tmp_path: Path,
) -> None:
    raw = tmp_path / "x.raw"
    raw.write_text("a (flask/app.py);b (edge/web/limits.py) 100\na (flask/app.py);c (x.py) 300\n")
    out = profile.breakdown(raw, cpu_s=2.0, requests=1000)
    python_ms = 400 / profile.RATE  # over 1000 requests: ms per request
    ms = out["ms_per_request"]
    assert ms["rate limiter"] == pytest.approx(python_ms / 4, abs=1e-3)
    assert ms["Flask and Werkzeug"] == pytest.approx(python_ms * 3 / 4, abs=1e-3)
    assert ms[profile.OFF_GIL] == pytest.approx(2.0 - python_ms, abs=1e-3)
    assert out["cpu_ms_per_request"] == pytest.approx(2.0)


def test_rounds_add_up_requests_and_seconds() -> None:
    run = {"requests": 100, "seconds": 1.0, "errors": 0, "p50_ms": 1.0, "p90_ms": 2.0}
    runs = [
        {**run, "p99_ms": 4.0, "max_ms": 9.0, "server_cpu_s": 0.1},
        {**run, "requests": 300, "p99_ms": 6.0, "max_ms": 7.0, "server_cpu_s": 0.3},
    ]
    both = lookup.combined(runs)
    assert both["requests"] == 400 and both["rps"] == pytest.approx(200.0)
    assert both["p99_ms"] == pytest.approx(5.0) and both["max_ms"] == 9.0
    assert both["server_cpu_ms_per_request"] == pytest.approx(1.0)


def test_the_targets_of_issue_21_are_the_figures_targets() -> None:
    res: dict[str, Any] = {
        "dataset": {"seconds": 1.0, "rows": {"purchase_lines": 0}, "bytes": 0},
        "cold_start": {
            "edge_median_s": 1.6,
            "baseline_first_answer_s": 0.3,
            "at_rest": {"edge_pss_mb": 150.0, "baseline_pss_mb": 50.0},
        },
        "sale": {
            "edge": {"rps": 1, "p50_ms": 1, "p99_ms": 1, "errors": 0},
            "baseline": {"rps": 1, "p50_ms": 1, "p99_ms": 1, "errors": 0},
            "to_broker": {"p50_ms": 10.0, "p99_ms": 60.0},
        },
    }
    rows = {f["name"]: f for f in figures(res)}
    assert rows["cold start to ready"]["target"] == "≤ 1.5 s"
    assert rows["cold start to ready"]["met"] is False
    assert rows["sale → broker ack p99"]["target"] == "≤ 50 ms"
    assert rows["sale → broker ack p99"]["met"] is False
    assert rows["whole box PSS at rest"]["met"] is True
    assert rows["whole box PSS at rest"]["ratio"] == pytest.approx(3.0)


def test_the_bare_app_keeps_one_connection_per_server_thread(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sqlite3.connect(tmp_path / "d.db").close()
    monkeypatch.setenv("BENCH_DB_PATH", str(tmp_path / "d.db"))
    app_module = importlib.reload(importlib.import_module("bench.baseline_app"))
    with app_module.app.app_context():
        first = app_module.get_db()
    with app_module.app.app_context():
        assert app_module.get_db() is first  # the next request of the thread: the same one
    other: list[bool] = []

    def server_thread() -> None:
        conn = app_module.get_db()
        other.append(conn is not first)  # another server thread: its own
        conn.close()

    t = threading.Thread(target=server_thread)
    t.start()
    t.join()
    assert other == [True]
    first.close()


def test_a_missed_lookup_tail_says_what_the_same_run_measured() -> None:
    run = {"p50_ms": 1.0, "max_ms": 30.0, "errors": 0, "server_cpu_ms_per_request": 0.8}
    lk: dict[str, Any] = {
        "edge": {**run, "rps": 1600.0, "p99_ms": 12.0},
        "baseline": {**run, "rps": 2000.0, "p99_ms": 9.0, "server_cpu_ms_per_request": 0.6},
        "rounds": [{"edge_rps": 1600.0, "baseline_rps": 2000.0, "ratio": 0.8}],
        "edge_2client": {**run, "rps": 900.0, "p99_ms": 3.0},
        "baseline_2client": {**run, "rps": 1000.0, "p99_ms": 2.5},
    }
    res: dict[str, Any] = {
        "dataset": {"seconds": 1.0, "rows": {"purchase_lines": 0}, "bytes": 0},
        "lookup": lk,
    }
    rows = {f["name"]: f for f in figures(res)}
    tail = rows["lookup+history p99"]
    assert tail["met"] is False
    assert "bare app's p99 is 9.0 ms" in tail["note"]
    assert "5.0 ms on average at the edge's 1,600 req/s" in tail["note"]  # 8 / 1600 s
    assert "at 2 clients: edge 3.0 ms, bare 2.5 ms" in tail["note"]
    assert rows["lookup+history p99, 2 clients"]["met"] is True
    assert rows["lookup+history throughput"]["met"] is True
    lk["edge"]["p99_ms"] = 4.0
    assert {f["name"]: f for f in figures(res)}["lookup+history p99"]["note"] is None
    res["figures"] = figures(res)
    table = report.markdown_table(res)
    assert table.splitlines()[0].endswith("| note |")
    assert "rounds 0.80; server CPU per request 0.80 ms against 0.60 ms" in table
