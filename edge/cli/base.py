"""The ``passerelle`` command's group and what every subcommand shares: the configuration
it reads, the database it opens, the one log format, and how a domain error is said."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

import click

from edge.config import ConfigError, Settings, load_settings
from edge.errors import DomainError
from edge.store import db

ENV_PREFIX = "PASSERELLE_"
# The commands that run a part of the edge: they log, in the log's format, rather than echo.
SERVICES = frozenset({"run", "serve", "worker", "sync"})
_ANNOUNCEMENT: str | None = None  # what the last loaded settings are and where they came from


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
            self.announce(self._settings)
        return self._settings

    def config_source(self) -> str:
        """Where the settings come from: the file, and which keys the environment sets (names
        only: values may be secrets)."""
        path = self.config_path or os.environ.get(f"{ENV_PREFIX}CONFIG")
        source = str(Path(path).resolve()) if path else "no file (built-in defaults)"
        env = sorted(
            k
            for k in os.environ
            if k.startswith(ENV_PREFIX) and k[len(ENV_PREFIX) :].lower() in Settings.model_fields
        )
        return source + (f", environment {', '.join(env)}" if env else "")

    def announce(self, settings: Settings) -> None:
        """Say on stderr which configuration and database this command uses: a command run
        in the wrong folder or without ``--config`` must not look like a store's answer.

        A service (``run``, ``serve``, ``worker``, ``sync`` alone) says it as the first line
        of its log instead (``setup_logging``), in the log's one format (journald, JSON)."""
        global _ANNOUNCEMENT
        _ANNOUNCEMENT = (
            f"configuration {self.config_source()}; database {Path(settings.db_path).resolve()}"
        )
        current = click.get_current_context(silent=True)
        if current is None or current.info_name not in SERVICES:
            click.echo(f"passerelle: {_ANNOUNCEMENT}", err=True)

    def db(self, read_only: bool = False) -> Any:
        """The store database; a read-only command never creates one where there is none."""
        path = Path(self.settings.db_path)
        if read_only and not path.exists():
            raise click.ClickException(
                f"no database at {path.resolve()} (configuration: {self.config_source()}). "
                "Give the store's configuration with --config FILE or PASSERELLE_CONFIG, "
                "e.g. passerelle --config demo-data/passerelle.toml sync status"
            )
        try:
            return db.open_database(path)
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
    if _ANNOUNCEMENT:
        logging.getLogger("passerelle.cli").info(_ANNOUNCEMENT)


def fail(exc: DomainError) -> click.ClickException:
    return click.ClickException(exc.message)
