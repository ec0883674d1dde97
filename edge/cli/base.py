"""The ``passerelle`` command's group and what every subcommand shares: the configuration
it reads, the database it opens, the one log format, and how a domain error is said."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import click

from edge.config import ConfigError, Settings, load_settings
from edge.errors import DomainError
from edge.store import db


class Ctx:
    def __init__(self, config: str | None) -> None:
        self.config_path = config
        self._settings: Settings | None = None

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            try:
                self._settings = load_settings(self.config_path)
            except ConfigError as exc:
                raise click.ClickException(str(exc)) from exc
        return self._settings

    def db(self) -> Any:
        try:
            return db.open_database(self.settings.db_path)
        except db.DatabaseError as exc:
            raise click.ClickException(f"database: {exc}") from exc


pass_ctx = click.make_pass_decorator(Ctx)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.option(
    "--config",
    "config",
    type=click.Path(dir_okay=False),
    envvar="PASSERELLE_CONFIG",
    help="TOML configuration file (or PASSERELLE_CONFIG).",
)
@click.version_option(package_name="passerelle")
@click.pass_context
def cli(ctx: click.Context, config: str | None) -> None:
    """Passerelle: the store's edge service for kiosks, POS terminals and printers."""
    if config:
        os.environ["PASSERELLE_CONFIG"] = str(Path(config).resolve())
    ctx.obj = Ctx(config)


def setup_logging(settings: Settings) -> None:
    from edge.system import logs

    # one format for every line, personal data and secrets redacted
    logs.setup(settings.log_level, settings.log_format)


def fail(exc: DomainError) -> click.ClickException:
    return click.ClickException(exc.message)
