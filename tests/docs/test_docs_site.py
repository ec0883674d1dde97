"""The docs site's generated pages and its commands: what the build (scripts/docs.sh, strict)
cannot see by itself. The generators in docs/hooks/ must cover every setting and every
benchmark figure and complain about an undocumented one, every command must carry the help
text its reference entry shows, and every `passerelle ...` command the README or a page tells
someone to type must exist."""

from __future__ import annotations

import importlib.util
import json
import logging
import re
from pathlib import Path
from types import ModuleType

import click
import pytest

from edge.cli import cli
from edge.config import PrinterConfig, Settings

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"


def hook(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        f"docs_hook_{name}", DOCS / "hooks" / f"{name}.py"
    )
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def commands_in_docs() -> set[tuple[str, ...]]:
    """Each `passerelle[-admin] word [word]` in code spans and code blocks of README and docs."""
    texts = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
    code = re.compile(r"```.*?```|`[^`\n]+`", re.S)
    command = re.compile(r"\bpasserelle(?:-admin)? ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?")
    found = set()
    for path in texts:
        for block in code.findall(path.read_text(encoding="utf-8")):
            found |= {tuple(w for w in m if w) for m in command.findall(block)}
    return found


def test_every_command_the_docs_name_exists() -> None:
    found = commands_in_docs()
    assert ("token", "create") in found and ("db", "restore") in found  # the scan sees them
    for words in sorted(found):
        cmd = cli.commands.get(words[0])
        assert cmd is not None, f"the docs name `passerelle {' '.join(words)}`: no such command"
        if isinstance(cmd, click.Group) and len(words) > 1:
            assert words[1] in cmd.commands, f"`passerelle {' '.join(words)}`: no such command"


def test_the_configuration_page_has_a_row_for_every_setting() -> None:
    table = hook("settings_table").render()
    for model in (Settings, PrinterConfig):
        for name in model.model_fields:
            assert re.search(rf"^\| `{name}`( \||<br>)", table, re.M), f"{model.__name__}.{name}"
    assert "**undocumented**" not in table


def test_every_setting_is_described_in_the_code() -> None:
    """The meanings live in the code (``Field(description=...)`` or the field's docstring),
    nowhere else (no side file to drift)."""
    assert not (DOCS / "hooks" / "settings.yml").exists()
    for model in (Settings, PrinterConfig):
        for name, meaning in hook("settings_table").meanings(model).items():
            assert meaning, f"{model.__name__}.{name}: no description"


def test_a_setting_without_a_description_is_a_build_warning(
    caplog: pytest.LogCaptureFixture,
) -> None:
    module = hook("settings_table")

    class Stripped(Settings):  # store_id declared again, without its description
        store_id: str = "S001"

    def build_warnings() -> list[str]:  # what `mkdocs build --strict` counts
        return [r.getMessage() for r in caplog.records if r.name.startswith("mkdocs.")]

    with caplog.at_level(logging.WARNING, logger="mkdocs"):
        module.render()
        assert build_warnings() == []  # the real settings are all described
        out = module.table(Stripped, env=True)
    warnings = build_warnings()
    assert any("Stripped.store_id has no Field(description=...)" in w for w in warnings), warnings
    assert "**undocumented**" in out


def test_every_command_has_help_text() -> None:
    """mkdocs-click renders each command's help: none may be an empty entry on the CLI page."""

    def walk(cmd: click.Command, path: str) -> list[str]:
        missing = [] if (cmd.help or "").strip() else [path]
        if isinstance(cmd, click.Group):
            for name, sub in cmd.commands.items():
                missing += walk(sub, f"{path} {name}")
        return missing

    assert len(cli.commands) > 5 and "token" in cli.commands  # the walk sees the tree
    assert walk(cli, "passerelle") == []


def test_the_benchmarks_page_shows_every_figure_of_latest_json() -> None:
    results = json.loads((ROOT / "bench" / "results" / "latest.json").read_text())
    module = hook("bench_results")

    class Page:
        class file:  # noqa: N801 - the shape of mkdocs' Page.file
            src_uri = "benchmarks.md"

    page = (DOCS / "benchmarks.md").read_text(encoding="utf-8")
    out = module.on_page_markdown(page, page=Page)
    assert module.MARKER not in out
    assert results["date"] in out
    for figure in results["figures"]:
        assert f"| {figure['name']} |" in out, figure["name"]


def test_every_screenshot_is_shown_in_the_docs() -> None:
    pages = "".join(p.read_text(encoding="utf-8") for p in DOCS.glob("*.md"))
    shots = sorted(p.name for p in (DOCS / "screenshots").glob("*.png"))
    assert shots, "docs/screenshots/ has the screens' PNGs"
    assert [s for s in shots if f"(screenshots/{s})" not in pages] == []
