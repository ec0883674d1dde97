"""What every phase works with: the run's files, broker, tokens, ports and servers.

Phase 1 (``prepare``) makes it: the cached chain-sized data set (``bench.dataset``) copied to
a working file, so that the writes of a run never touch the cache; two API tokens; our own
Mosquitto. The phases then share it instead of each setting up its own, because the edge's
MQTT session, made by the cold start, is what the catch-up later queues events for.
"""

from __future__ import annotations

import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench import dataset, mqtt, procs
from bench.console import say
from bench.edge_api import auth, db
from bench.options import Config
from tests.support.broker import free_port


@dataclass
class Session:
    """The state one run's phases share; ``edge`` and ``baseline`` are the HTTP servers while
    they run (started by the cold start, stopped before the MQTT phases)."""

    cfg: Config
    tmp: Path
    logs: Path
    work: Path
    sample: Path
    kiosk: str
    pos: str
    broker: mqtt.Broker
    edge_port: int
    base_port: int
    settings: dict[str, Any]
    sync: bool
    edge: procs.Proc | None = None
    baseline: procs.Proc | None = None

    def start_edge(self) -> procs.Proc:
        """``passerelle run`` on the working file, as the systemd unit starts it."""
        return procs.start_edge(self.settings, self.logs / "edge.log")

    def stop_servers(self) -> None:
        """Stop the edge and the baseline app, so that the MQTT phases have the cores alone."""
        for p in (self.edge, self.baseline):
            if p is not None:
                p.stop()
        self.edge = self.baseline = None

    def broker_cpu_s(self) -> float:
        """Mosquitto's CPU seconds so far: the MQTT phases charge each side its broker's work."""
        assert self.broker.proc is not None
        return procs.cpu_s(self.broker.proc.pid)

    def members(self) -> list[tuple[str, str]]:
        """(card, customer_id) of the data set's sample of members, whom the events are for."""
        return [
            (a, b) for a, b in (ln.split()[:2] for ln in self.sample.read_text().splitlines() if ln)
        ]


def workdir(cfg: Config) -> Path:
    """The run's own folder (working database, logs, broker), one per mode."""
    return cfg.data_dir / f"run-{cfg.mode}"


def prepare(cfg: Config, res: dict[str, Any], *, sync: bool) -> Session:
    """Phase 1: the data set (recorded in ``res["dataset"]``), its working copy, the tokens
    the load generators use, and the broker; the broker is stopped again if what follows it
    fails, since no caller holds it yet."""
    say(f"data set ({cfg.params})")
    cache = dataset.cache_dir(cfg.data_dir, cfg.params)
    ds = dataset.ensure(cache, cfg.params, quiet=cfg.mode == "quick")
    res["dataset"] = ds
    tmp = workdir(cfg)
    logs, work = tmp / "logs", tmp / "work.db"
    shutil.rmtree(tmp, ignore_errors=True)
    logs.mkdir(parents=True)
    t = time.monotonic()
    shutil.copyfile(str(ds["path"]), work)
    # The copy leaves gigabytes of dirty pages that the kernel writes back for a minute:
    # done now, so that no phase (and no baseline) runs against that writeback.
    os.sync()
    res["dataset"]["copy_seconds"] = round(time.monotonic() - t, 1)
    conn = db.open_database(work)
    try:
        kiosk = auth.create_token(conn, name="bench-kiosk", role="kiosk")
        pos = auth.create_token(conn, name="bench-pos", role="pos")
    finally:
        conn.close()
    broker = mqtt.start_broker(tmp / "broker", cfg.broker_inflight)
    try:
        edge_port, base_port = free_port(), free_port()
        return Session(
            cfg=cfg,
            tmp=tmp,
            logs=logs,
            work=work,
            sample=cache / "sample.txt",
            kiosk=kiosk,
            pos=pos,
            broker=broker,
            edge_port=edge_port,
            base_port=base_port,
            settings=procs.edge_settings(work, edge_port, broker.url),
            sync=sync,
        )
    except BaseException:
        broker.stop()
        raise
