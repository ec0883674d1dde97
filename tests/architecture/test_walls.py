"""The walls of the code bite: each import-linter contract in pyproject.toml fails when a
forbidden import is added to a copy of the code, and the untouched copy passes.

Without these tests a contract could be deleted, misspelt or widened (a wildcard that matches
nothing, a module renamed under it) and `lint-imports` would go on saying "kept"."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = ("edge", "sync", "hardware", "kiosk_ui")  # online_store lives under sync/
ONLINE_STORE = Path("sync", "online_store")


def contract_names() -> dict[str, str]:
    """The contracts' names by id; a test asking for a removed contract fails here."""
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    return {contract["id"]: contract["name"] for contract in contracts}


def copy_code(to: Path) -> Path:
    """The repository's Python packages and pyproject.toml, nothing else (no tests, no venv)."""
    skip = shutil.ignore_patterns("__pycache__", "*.egg-info", "*.db", "*.db-*")
    for package in PACKAGES:
        shutil.copytree(ROOT / package, to / package, ignore=skip)
    shutil.copy2(ROOT / "pyproject.toml", to / "pyproject.toml")
    return to


def lint_imports(repo: Path) -> subprocess.CompletedProcess[str]:
    """`lint-imports` run in the copy, which must be the code it analyses (the copy comes
    first on the path, ahead of the editable installs of the real worktree)."""
    executable = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert executable, "import-linter is not installed next to this Python"
    environ = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(repo), str(repo / ONLINE_STORE)]),
        "COLUMNS": "1000",  # one contract a line, whatever the terminal
    }
    return subprocess.run(
        [executable, "--no-cache"],
        cwd=repo,
        env=environ,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def broken_contracts(result: subprocess.CompletedProcess[str]) -> set[str]:
    return set(re.findall(r"^(.+?) BROKEN(?: \(.*\))?$", result.stdout, flags=re.MULTILINE))


def add_line(path: Path, line: str) -> None:
    path.write_text(path.read_text() + f"\n{line}\n")


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    return copy_code(tmp_path / "repo")


def test_the_code_as_it_is_keeps_every_contract(repo: Path) -> None:
    result = lint_imports(repo)
    assert result.returncode == 0, result.stdout + result.stderr
    kept = set(re.findall(r"^(.+?) KEPT(?: \(.*\))?$", result.stdout, flags=re.MULTILINE))
    assert kept == set(contract_names().values())


@pytest.mark.parametrize(
    ("module", "line", "contract"),
    [
        ("edge/sales/rules.py", "import sqlite3", "rules-are-pure"),
        ("edge/sales/rules.py", "from edge.store import db", "rules-are-pure"),
        ("edge/sales/rules.py", "from edge import config", "rules-are-pure"),
        ("edge/store/db.py", "import flask", "domain-knows-no-web"),
        ("edge/sales/service.py", "from edge.web import context", "domain-knows-no-web"),
        ("edge/customers/service.py", "import paho.mqtt.client", "domain-knows-no-web"),
        ("edge/web/app.py", "from sync import worker", "web-and-sync-meet-in-the-database"),
        ("kiosk_ui/views.py", "from sync import contract", "web-and-sync-meet-in-the-database"),
        ("sync/consumer.py", "from edge.web import app", "sync-knows-no-web"),
        (
            "sync/online_store/online_store/shop.py",
            "from edge.store import db",
            "online-store-apart",
        ),
        ("sync/online_store/online_store/shop.py", "import hardware", "online-store-apart"),
        ("hardware/printers.py", "from edge import config", "hardware-knows-no-edge"),
        ("hardware/render.py", "import sync.contract", "hardware-knows-no-edge"),
        ("edge/store/ids.py", "from edge.system import status", "layers"),
        ("edge/system/status.py", "from edge.web import health", "layers"),
        ("edge/products/views.py", "from edge import handlers", "layers"),
    ],
)
def test_a_forbidden_import_breaks_its_contract(
    repo: Path, module: str, line: str, contract: str
) -> None:
    name = contract_names()[contract]
    add_line(repo / module, line)
    result = lint_imports(repo)
    assert result.returncode != 0, result.stdout
    assert name in broken_contracts(result), result.stdout + result.stderr


def test_a_cycle_between_modules_breaks_the_acyclic_contract(repo: Path) -> None:
    name = contract_names()["no-cycles"]
    (repo / "edge/store/walls_a.py").write_text("from edge.store import walls_b\n")
    (repo / "edge/store/walls_b.py").write_text("from edge.store import walls_a\n")
    result = lint_imports(repo)
    assert result.returncode != 0, result.stdout
    assert broken_contracts(result) == {name}, result.stdout + result.stderr


def test_a_cycle_between_areas_breaks_the_acyclic_contract_only(repo: Path) -> None:
    """The areas share one layer (they may use one another), so only the acyclic contract
    stops two of them from using each other."""
    name = contract_names()["no-cycles"]
    add_line(repo / "edge/loyalty/service.py", "from edge.offers import service as _offers")
    add_line(repo / "edge/offers/service.py", "from edge.loyalty import service as _loyalty")
    result = lint_imports(repo)
    assert result.returncode != 0, result.stdout
    assert broken_contracts(result) == {name}, result.stdout + result.stderr
