"""``passerelle run|serve|worker``: the edge's processes, together or apart."""

from __future__ import annotations

import logging
import os
import sys

import click

from edge.cli.base import Ctx, cli, pass_ctx, setup_logging


@cli.command()
@pass_ctx
def run(ctx: Ctx) -> None:
    """API, sync worker and print worker together: the default on one store box."""
    from edge.system import runner

    setup_logging(ctx.settings)
    sys.exit(runner.run(ctx.settings))


@cli.command()
@pass_ctx
def serve(ctx: Ctx) -> None:
    """Only the HTTP API, under gunicorn."""
    from edge.system import runner

    setup_logging(ctx.settings)
    ctx.db().close()
    logging.getLogger("passerelle.serve").info(runner.api_banner(ctx.settings))
    os.execv(sys.executable, runner.gunicorn_command(ctx.settings))  # noqa: S606


@cli.command(name="worker")
@click.argument("which", type=click.Choice(["sync", "print", "jobs", "all"]))
@pass_ctx
def worker(ctx: Ctx, which: str) -> None:
    """Only background workers, without the API (for a split deployment)."""
    from edge.system import runner

    setup_logging(ctx.settings)
    chosen = [w for w in runner.WORKERS if which in ("all", w[0])]
    sys.exit(runner.run(ctx.settings, with_api=False, workers=chosen))
