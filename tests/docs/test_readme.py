"""The README's facts a newcomer copies: configuration keys and CLI commands that exist."""

from __future__ import annotations

import re
from pathlib import Path

from click.testing import CliRunner

from edge.cli import cli
from edge.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def section(title: str) -> str:
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## )", README, re.M | re.S)
    assert match, f"README has a '## {title}' section"
    return match.group(1)


def test_every_key_of_the_configuration_table_is_a_setting() -> None:
    rows = [ln for ln in section("Configuration").splitlines() if ln.startswith("| `")]
    keys = {k for row in rows for k in re.findall(r"`([A-Z][A-Z0-9_]+)`", row.split("|")[1])}
    assert {"STORE_ID", "TIMEZONE", "SECRET_KEY"} <= keys
    assert sorted(k for k in keys if k.lower() not in Settings.model_fields) == []


def test_every_command_the_cli_section_names_exists() -> None:
    text = section("The CLI")
    listed = re.search(r"lists everything: (.*?)\.\n", text, re.S)
    assert listed
    runner = CliRunner()
    for item in re.findall(r"`([a-z][a-z |]*)`", listed.group(1)):
        group, *rest = item.split()
        subs = rest[0].split("|") if rest else [None]
        for sub in subs:
            args = [group] + ([sub] if sub else []) + ["--help"]
            result = runner.invoke(cli, args)
            assert result.exit_code == 0, f"passerelle {' '.join(args)}: {result.output}"
