"""``passerelle tls|secret|kiosk``: the box's HTTPS certificate, its session-signing key and
kiosk pairing codes (issue 19)."""

from __future__ import annotations

from pathlib import Path

import click

from edge.cli.base import Ctx, cli, fail, pass_ctx
from edge.errors import DomainError


@cli.group()
def tls() -> None:
    """The store box's HTTPS certificate (the API and the screens speak TLS on the LAN)."""


@tls.command(name="init")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(file_okay=False),
    default="/etc/passerelle/credentials",
    show_default=True,
    help="Folder for tls_cert and tls_key (the unit's LoadCredential= reads them there).",
)
@click.option(
    "--host",
    "hosts",
    multiple=True,
    help="A name or address the terminals use to reach the box (repeatable); "
    "localhost and 127.0.0.1 are always added.",
)
@click.option(
    "--ca-cert",
    type=click.Path(dir_okay=False, exists=True),
    help="The chain's CA certificate (PEM) to sign the store certificate with.",
)
@click.option(
    "--ca-key",
    type=click.Path(dir_okay=False, exists=True),
    help="The chain CA's private key (PEM, unencrypted; keep it off the store box).",
)
@click.option("--days", default=397, show_default=True, type=click.IntRange(1, 825))
@click.option("--force", is_flag=True, help="Replace an existing certificate and key.")
@pass_ctx
def tls_init(
    ctx: Ctx,
    out_dir: str,
    hosts: tuple[str, ...],
    ca_cert: str | None,
    ca_key: str | None,
    days: int,
    force: bool,
) -> None:
    """Make the store certificate: signed by the chain's CA (--ca-cert/--ca-key), or
    self-signed (the demo; browsers warn until it is trusted).

    Writes tls_cert (the certificate, then the CA's) and tls_key (mode 0600); point
    tls_cert_file/tls_key_file at them or load them as the systemd credentials tls_cert and
    tls_key. The certificate's SHA-256 fingerprint is printed, to check it on a terminal.
    """
    from edge.system import tls as tls_files

    if (ca_cert is None) != (ca_key is None):
        raise click.UsageError("--ca-cert and --ca-key go together")
    out = Path(out_dir)
    cert_path, key_path = out / "tls_cert", out / "tls_key"
    if not force and (cert_path.exists() or key_path.exists()):
        raise click.ClickException(f"{cert_path} or {key_path} exists; --force replaces them")
    try:
        made = tls_files.make_store_certificate(
            store_id=ctx.settings.store_id,
            hosts=list(hosts),
            days=days,
            ca_cert=Path(ca_cert) if ca_cert else None,
            ca_key=Path(ca_key) if ca_key else None,
        )
    except ValueError as exc:
        raise click.ClickException(str(exc)) from exc
    tls_files.write_pair(made, cert_path, key_path)
    click.echo(f"certificate {cert_path} and key {key_path} written")
    click.echo(f"  for: {', '.join(made.names)}")
    click.echo(f"  signed by: {'the chain CA' if ca_cert else 'itself (self-signed)'}")
    click.echo(f"  SHA-256 fingerprint: {made.fingerprint}")


@cli.group()
def secret() -> None:
    """The key that signs the screens' session cookies (kept out of the database)."""


@secret.command(name="rotate")
@click.option(
    "--file",
    "path",
    type=click.Path(dir_okay=False),
    default=None,
    help="The key file to replace (default: secret_key_file, else the credential, else "
    "'secret_key' beside the database).",
)
@pass_ctx
def secret_rotate(ctx: Ctx, path: str | None) -> None:
    """Write a new session-signing key. At the service's next start every screen session
    made with the old key ends: kiosks pair again, staff log in again."""
    from edge.web import signing

    settings = ctx.settings
    if path:
        settings = settings.model_copy(update={"secret_key_file": Path(path), "secret_key": None})
    try:
        written = signing.rotate(settings)
    except (ValueError, OSError) as exc:
        raise click.ClickException(str(exc)) from exc
    click.echo(f"new session key written to {written} (mode 0600)")
    click.echo("restart the service (systemctl restart passerelle) for it to take effect")


@cli.group()
def kiosk() -> None:
    """Kiosk devices: one-time pairing codes."""


@kiosk.command(name="pair-code")
@click.argument("name")
@click.option("--minutes", default=15, show_default=True, help="How long the code is valid.")
@pass_ctx
def kiosk_pair_code(ctx: Ctx, name: str, minutes: int) -> None:
    """A one-time code that pairs one browser as the kiosk token NAME: type it into the
    kiosk's /kiosk/pair page. Used once, or expired, it pairs nothing."""
    from edge.staff import pairing

    conn = ctx.db()
    try:
        code = pairing.create_code(conn, name, minutes=minutes)
    except DomainError as exc:
        raise fail(exc) from exc
    finally:
        conn.close()
    click.echo(f"pairing code for kiosk {name!r}, valid {minutes} min, usable once:")
    click.echo(code)
