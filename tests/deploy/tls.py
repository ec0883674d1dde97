"""Certificates and a Mosquitto with TLS, made by the tests (``openssl`` CLI, which every
Debian box has; no extra Python package).

``make_pki`` writes a private CA, a server certificate for 127.0.0.1/localhost signed by it,
a client certificate signed by it, and a second, unrelated CA (what a client trusting the
wrong authority would have). ``TlsBroker`` is the project's ``Broker`` with its one listener
switched to TLS, optionally requiring a client certificate and/or a password.
"""

from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from tests.support.broker import Broker


@dataclass(frozen=True)
class Pki:
    ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    other_ca: Path


def _openssl(*args: str, cwd: Path) -> None:
    exe = shutil.which("openssl")
    if exe is None:
        raise RuntimeError("openssl is not installed: sudo apt-get install openssl")
    res = subprocess.run([exe, *args], cwd=cwd, capture_output=True, text=True, timeout=60)
    if res.returncode != 0:
        raise RuntimeError(f"openssl {' '.join(args)} failed: {res.stderr}")


def _ca(d: Path, name: str) -> tuple[Path, Path]:
    key, cert = d / f"{name}.key", d / f"{name}.pem"
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(cert), "-days", "2", "-subj", f"/CN={name}",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign",
        cwd=d,
    )  # fmt: skip
    return cert, key


def _leaf(d: Path, name: str, ca: tuple[Path, Path], ext: str) -> tuple[Path, Path]:
    key, csr, cert = d / f"{name}.key", d / f"{name}.csr", d / f"{name}.crt"
    extfile = d / f"{name}.ext"
    extfile.write_text(ext + "\n")
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(key), "-out", str(csr), "-subj", f"/CN={name}",
        cwd=d,
    )  # fmt: skip
    _openssl(
        "x509", "-req", "-in", str(csr), "-CA", str(ca[0]), "-CAkey", str(ca[1]),
        "-CAcreateserial", "-out", str(cert), "-days", "2", "-extfile", str(extfile),
        cwd=d,
    )  # fmt: skip
    key.chmod(0o600)
    return cert, key


def make_pki(d: Path) -> Pki:
    d.mkdir(parents=True, exist_ok=True)
    ca = _ca(d, "test-ca")
    other = _ca(d, "other-ca")
    server = _leaf(
        d,
        "broker",
        ca,
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth",
    )
    client = _leaf(d, "passerelle-edge-S001", ca, "extendedKeyUsage=clientAuth")
    return Pki(ca[0], server[0], server[1], client[0], client[1], other[0])


class TlsBroker(Broker):
    """A real Mosquitto whose listener speaks TLS only (mqtts)."""

    def __init__(
        self,
        workdir: Path,
        pki: Pki,
        *,
        require_certificate: bool = False,
        users: dict[str, str] | None = None,
        max_queued: int | None = None,
    ) -> None:
        lines = [
            f"cafile {pki.ca}",
            f"certfile {pki.server_cert}",
            f"keyfile {pki.server_key}",
            "tls_version tlsv1.2",
            f"require_certificate {'true' if require_certificate else 'false'}",
        ]
        if users:
            workdir.mkdir(parents=True, exist_ok=True)
            pwfile = workdir / "passwd"
            pwfile.write_text("".join(f"{u}:{p}\n" for u, p in users.items()))
            subprocess.run(["mosquitto_passwd", "-U", str(pwfile)], check=True, timeout=30)
            lines += [f"password_file {pwfile}", "allow_anonymous false"]
        super().__init__(workdir, extra="\n".join(lines), max_queued=max_queued)

    @property
    def url(self) -> str:
        return f"mqtts://127.0.0.1:{self.port}"
