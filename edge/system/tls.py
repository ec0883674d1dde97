"""The store box's HTTPS certificate, made with the ``cryptography`` library.

A chain signs each store's certificate with its own CA (installed once on every terminal of
the chain); the demo, and a box set up before the CA is at hand, sign it themselves. Either
way the certificate names the box as the terminals reach it (``--host``, plus loopback),
uses a P-256 key, and lasts at most 397 days, what browsers accept of a server certificate.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

ALWAYS = ("localhost", "127.0.0.1")


@dataclass(frozen=True)
class Made:
    cert_pem: bytes  # the certificate, then the CA's when a CA signed it
    key_pem: bytes
    names: list[str]
    fingerprint: str


def _san(names: list[str]) -> x509.SubjectAlternativeName:
    entries: list[x509.GeneralName] = []
    for name in names:
        try:
            entries.append(x509.IPAddress(ipaddress.ip_address(name)))
        except ValueError:
            entries.append(x509.DNSName(name))
    return x509.SubjectAlternativeName(entries)


CaKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey


def _spki(key: Any) -> bytes:
    return bytes(
        key.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )


def _load_ca(ca_cert: Path, ca_key: Path) -> tuple[x509.Certificate, CaKey]:
    try:
        cert = x509.load_pem_x509_certificate(ca_cert.read_bytes())
        key = serialization.load_pem_private_key(ca_key.read_bytes(), password=None)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"cannot read the CA certificate or key: {exc}") from exc
    if not isinstance(key, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ValueError("the CA key must be an EC or RSA key")
    if _spki(cert.public_key()) != _spki(key.public_key()):
        raise ValueError("--ca-key is not the key of --ca-cert")
    try:
        constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints).value
    except x509.ExtensionNotFound:
        constraints = None
    if constraints is None or not constraints.ca:
        raise ValueError("--ca-cert is not a CA certificate (basicConstraints CA:TRUE)")
    return cert, key


def make_store_certificate(
    *,
    store_id: str,
    hosts: list[str],
    days: int = 397,
    ca_cert: Path | None = None,
    ca_key: Path | None = None,
) -> Made:
    names = list(dict.fromkeys([*hosts, *ALWAYS]))
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, names[0]),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, f"store {store_id}"),
        ]
    )
    issuer_cert: x509.Certificate | None = None
    issuer_key: CaKey = key
    issuer, chain = subject, b""
    if ca_cert is not None and ca_key is not None:
        issuer_cert, issuer_key = _load_ca(ca_cert, ca_key)
        issuer = issuer_cert.subject
        chain = issuer_cert.public_bytes(serialization.Encoding.PEM)
    now = datetime.now(UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(minutes=5))
        .not_valid_after(now + timedelta(days=days))
        .add_extension(_san(names), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_encipherment=False,
                content_commitment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if issuer_cert is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()),
            critical=False,
        )
    cert = builder.sign(issuer_key, hashes.SHA256())
    cert_pem = cert.public_bytes(serialization.Encoding.PEM) + chain
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    fingerprint = cert.fingerprint(hashes.SHA256()).hex(":").upper()
    return Made(cert_pem, key_pem, names, fingerprint)


def write_pair(made: Made, cert_path: Path, key_path: Path) -> None:
    """The key with mode 0600 (written before the certificate: never a cert without key)."""
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    for path, data, mode in ((key_path, made.key_pem, 0o600), (cert_path, made.cert_pem, 0o644)):
        tmp = path.with_name(f".{path.name}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(tmp, mode)
        tmp.replace(path)
