"""Ports for the tests' brokers and servers: parallel test workers never share one."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bench.chain import brokers
from tests.support.proc import ROOT, env


def test_each_share_of_the_range_is_its_own(monkeypatch: pytest.MonkeyPatch) -> None:
    # the share in force now, put back after the test
    monkeypatch.setenv(brokers.PORT_SHARE_ENV, os.environ.get(brokers.PORT_SHARE_ENV, "0/1"))
    brokers.share_ports(0, 2)
    first = {brokers.free_port() for _ in range(50)}
    brokers.share_ports(1, 2)
    second = {brokers.free_port() for _ in range(50)}
    assert max(first) < min(second)
    with pytest.raises(ValueError):
        brokers.share_ports(2, 2)


def test_this_test_worker_has_its_share() -> None:
    """Under pytest-xdist, tests/conftest.py gave this worker its own share."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if worker is None:
        assert brokers.port_share() == (0, 1)
    else:
        count = int(os.environ["PYTEST_XDIST_WORKER_COUNT"])
        assert (int(worker.removeprefix("gw")), count) == brokers.port_share()


def test_a_child_process_keeps_its_parents_share() -> None:
    """The processes a test starts (the bench's quick run) pick from its worker's share."""
    code = "from bench.chain import brokers; print(*brokers.port_share())"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env(), cwd=ROOT, capture_output=True, text=True
    )
    assert tuple(int(x) for x in out.stdout.split()) == brokers.port_share(), out.stderr
