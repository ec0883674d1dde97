"""Configuration: one TOML file, every key overridable by ``PASSERELLE_<KEY>``.

Retail IT deploy the same package on hundreds of boxes and differ only by a few keys, so the
file carries the store's settings and the environment (or systemd credentials) carries the
secrets. A bad value must stop the start with the key's name, never half-start a store box.
"""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlparse

from pydantic import (
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    NoDecode,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    SettingsError,
)

from hardware.config import PrinterConfig

ENV_PREFIX = "PASSERELLE_"
STORE_ID_RE = re.compile(r"^[A-Za-z0-9_-]{1,32}$")


class ConfigError(Exception):
    """A configuration value that stops the start; the message names the key."""


class Settings(BaseSettings):
    """Every key of the edge. Field names are the TOML keys; env vars add the prefix."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        case_sensitive=False,
        extra="forbid",
        validate_default=True,
        # Each field's meaning is the docstring under it, which the docs' configuration page
        # reads (docs/hooks/settings_table.py). Not pydantic's use_attribute_docstrings: it
        # reads and tokenizes this file at every import, 50 ms of each process's start.
    )

    store_id: str = "S001"
    """the store's id in the contract (`[A-Za-z0-9_-]{1,32}`); also the MQTT client id
    `passerelle-edge-{store_id}` and the up-stream source `/stores/{store_id}`"""
    store_name: str = "Passerelle"
    """the shop's name on the screens and receipts"""
    db_path: Path = Path("passerelle.db")
    """the store database (SQLite, WAL); relative paths are from the working directory
    (`/var/lib/passerelle` under systemd)"""
    http_host: str = "127.0.0.1"
    """address the API binds to; loopback by default, see [network
    exposure](deployment.md#network-exposure)"""
    http_port: int = Field(default=8080, ge=1, le=65535)
    """port of the API and the screens"""
    http_workers: int = Field(default=2, ge=1, le=16)
    """gunicorn worker processes; rate-limit counters are per worker, so a client gets up to this
    many times the configured rate"""
    http_threads: int = Field(default=2, ge=1, le=64)
    """threads per gunicorn worker; each keeps its own SQLite connection. Two rather than four:
    on the 2-core box and 1 M members, the same lookups a second, a lower p99 at 8 clients
    and 8 MB less PSS (docs/performance.md). A thread is only taken by a connection with a
    request to read (``edge.web.worker``), so a browser's idle preconnected sockets do not
    hold them."""
    http_keepalive: int = Field(default=15, ge=1, le=300)
    """seconds an HTTP connection may sit idle between two requests before the server closes
    it. An idle connection waits in the worker's poller, not in a thread (`edge.web.worker`),
    so keeping it costs a file descriptor; a till or kiosk that calls again within it saves a
    new TCP and TLS handshake. gunicorn's own default, 2 s, is meant for a proxy in front: a
    client held up longer than that (a busy box, a paused browser tab) found its connection
    closed under its next request"""
    secret_key: str | None = None
    """signs the screens' session cookies (paired kiosks, staff logins); when unset, one is
    generated once and kept in the database. Changing it forgets every paired kiosk"""
    secret_key_file: Path | None = None
    """read `secret_key` from this file (or the systemd credential `secret_key`)"""

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    """the broker, `mqtt://host:port` or `mqtts://host:port` (TLS)"""
    mqtt_failover_urls: Annotated[list[str], NoDecode] = []
    """further brokers of the same cluster (a TOML list, or comma-separated in the environment),
    tried in turn after `mqtt_url` when the current one is lost or unreachable; same scheme,
    credentials and certificates as `mqtt_url`"""
    mqtt_username: str | None = None
    """broker user name"""
    mqtt_password: str | None = None
    """broker password; better from a file or a systemd credential"""
    mqtt_password_file: Path | None = None
    """read `mqtt_password` from this file (or the systemd credential `mqtt_password`)"""
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    """MQTT 5 (persistent session with an expiry, Receive Maximum 4,000) or 3.1.1
    (`clean_session=False`; the broker's `max_inflight_messages` is then the window)"""
    mqtt_ca_file: Path | None = None
    """CA certificate(s) to verify the broker with `mqtts://`"""
    mqtt_cert_file: Path | None = None
    """client certificate, for a broker that asks for one"""
    mqtt_key_file: Path | None = None
    """the client certificate's private key"""
    mqtt_keepalive: int = Field(default=30, ge=5, le=3600)
    """MQTT keepalive in seconds; the worker pauses reading the socket at most half of it when its
    queue is full"""
    mqtt_session_expiry: int = Field(default=7 * 24 * 3600, ge=7 * 24 * 3600)
    """MQTT 5 session expiry in seconds (7 days at least, so a store closed for a week finds its
    queue)"""
    topic_prefix: str = "passerelle/v1"
    """topic prefix of the contract (no wildcards, no leading or trailing `/`)"""

    online_store_url: str | None = None
    """base URL of the online store's backfill endpoint (`…/passerelle/v1/streams/…/events`)"""
    online_store_token: str | None = None
    """bearer token for the backfill endpoint; better from a file or a systemd credential"""
    online_store_token_file: Path | None = None
    """read `online_store_token` from this file (or the systemd credential `online_store_token`)"""
    backfill_page_size: int = Field(default=500, ge=1, le=1000)
    """events asked for per backfill request"""
    backfill_timeout: float = Field(default=10.0, gt=0, le=120)
    """seconds per backfill request"""

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    """the store's currency (ISO 4217); its minor unit drives the loyalty and discount maths"""
    locale: Literal["fr", "en"] = "fr"
    """the store's language (screens, receipts, the kiosk's start language)"""
    timezone: str = "Europe/Paris"
    """the store's time zone (IANA name); times on the screens and receipts"""

    points_per_unit: int = Field(default=1, ge=0, le=1000)
    """loyalty points earned per whole currency unit paid, before the tier multiplier"""
    redeem_points_per_unit: int = Field(default=100, ge=1, le=100000)
    """points worth one currency unit when redeemed (100 = 1.00)"""
    tier_multipliers: dict[str, float] = {"standard": 1.0, "silver": 1.25, "gold": 1.5}
    """points multiplier per member tier; as an environment variable, JSON"""
    offline_grace_seconds: int = Field(default=600, ge=0)
    """how long the link may be down before the offline limits on points and personal coupons apply
    (see [loyalty](loyalty.md#offline-policy))"""
    offline_redeem_cap: int = Field(default=1000, ge=0)
    """most points a member may redeem per day in this store once the link has been down longer
    than the grace"""
    offline_coupon_max_discount: int = Field(default=5000, ge=0)
    """past the grace, a personal coupon worth more than this (minor units) is refused until the
    link is back"""

    pickup_grace_hours: float = Field(default=24.0, ge=0)
    """hours after `pickup_by` before a `ready` order expires"""
    pickup_max_wrong_codes: int = Field(default=5, ge=1, le=100)
    """wrong pickup codes before an order locks (423 `pickup_locked`) until a manager unlocks it"""
    return_days: int = Field(default=30, ge=0, le=3650)
    """days after a purchase (either channel) during which it may be returned in this store"""
    return_manager_above: int = Field(default=5000, ge=0)
    """a return refunding more than this (minor units), or one without a receipt, needs a
    manager's PIN"""
    void_minutes: int = Field(default=5, ge=0, le=120)
    """how long after a sale its till may void it (always with a manager's PIN)"""
    store_credit_days: int = Field(default=365, ge=1, le=3650)
    """how long a store-credit voucher (a refund in store credit) may be used, in every
    channel"""
    kiosk_idle_seconds: int = Field(default=60, ge=5, le=3600)
    """seconds without a touch before the kiosk goes back to welcome and forgets the shopper"""
    staff_locale: Literal["fr", "en"] = "fr"
    """start language of the staff screens (board, till)"""
    staff_session_idle_minutes: int = Field(default=15, ge=1, le=720)
    """a staff session ends after this long without a touch (the board's own polling does not
    count)"""
    rate_limit_lookup: str = "30/minute"
    """limit on member lookups (card, phone) and coupon checks, per terminal and per address"""
    rate_limit_pin: str = "10/minute"
    """limit on PIN logins, kiosk pairing and pickup check-in codes, per terminal and per address"""

    stock_on_sale: bool = True
    """sales and returns at the till move the store's stock (see [stock](stock.md)); off only
    to measure what stock costs a sale (the benchmark's side-by-side): receipts, adjustments,
    counts and click-and-collect orders still move stock"""
    outbox_retention_days: int = Field(default=30, ge=30)
    """days sent up-events are kept, for `replay.requested` (30 at least)"""
    online_status_max_age: int = Field(default=150, ge=3, le=150)
    """seconds after which the online store's retained status (its heartbeat on
    `status/web/chain`) is too old and the online store counts as unreachable; the contract's
    150 at most, lower with an online store that publishes its status more often"""
    stream_behind_grace: int = Field(default=60, ge=1, le=3600)
    """seconds a down-stream may stay behind (a hole, or a tail announced but not received)
    before the online store counts as unreachable for the offline policy"""
    inbox_retention_days: int = Field(default=14, ge=1)
    """days the `(source, id)` record of an applied down-event is kept; past it the sequence
    alone dedupes (a redelivery that old has an old number)"""
    dead_letter_retention_days: int = Field(default=90, ge=7)
    """days a dead letter is kept for `passerelle sync dead-letters`"""
    print_job_retention_days: int = Field(default=30, ge=1)
    """days a finished (printed or cancelled) print job is kept"""
    disk_free_warn_mb: int = Field(default=1024, ge=0)
    """free space (MB) on the database's disk under which /readyz warns, long before SQLite
    fails and sales are refused"""
    backup_retention_days: int = Field(default=7, ge=1)
    """days a backup written by `passerelle db backup` is kept in its folder; older backups
    there (`passerelle-*.db`) are removed, with the personal data they hold"""
    printers: list[PrinterConfig] = []
    """the store's printers, see `[[printers]]` below; as an environment variable, a JSON list"""
    print_retry_max_seconds: float = Field(default=30.0, gt=0, le=3600)
    """longest wait between two tries of a waiting print job (the backoff starts at 0.5 s and
    doubles)"""
    print_status_interval: float = Field(default=30.0, gt=0, le=3600)
    """how often an idle printer is asked its state"""
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    """the log's level"""
    log_format: Literal["text", "json"] = "text"
    """text: one readable line per event; json: one JSON object per line (for a log shipper).
    Either way under systemd each line carries its journald priority"""

    # -- security (issue 19) ------------------------------------------------------------
    tls_cert_file: Path | None = None
    """the API's TLS certificate chain (PEM; `passerelle tls init` makes one); default: the
    systemd credential `tls_cert`. With a certificate and its key the API speaks HTTPS only,
    the screens' cookies are `Secure` with `__Host-` names, and HSTS is sent"""
    tls_key_file: Path | None = None
    """the certificate's private key (PEM); default: the systemd credential `tls_key`"""
    proxy_hops: int = Field(default=0, ge=0, le=5)
    """reverse proxies in front of the API whose `X-Forwarded-For`/`-Proto`/`-Host` are trusted
    (Werkzeug's ProxyFix); 0: none, the peer's address is the client's. A proxy must terminate
    TLS: the cookies are then `Secure` too"""
    hsts_seconds: int = Field(default=31536000, ge=0)
    """`Strict-Transport-Security` max-age sent over HTTPS (0: none)"""
    kiosk_session_days: int = Field(default=30, ge=1, le=365)
    """a paired kiosk pairs again after this many days (revoking its token ends it at once)"""
    staff_session_max_hours: int = Field(default=12, ge=1, le=24)
    """a staff login ends after this long, touched or not"""
    metrics_token: str | None = None
    """bearer token that `/metrics` asks of a scraper that is not on loopback; better from a
    file or the systemd credential `metrics_token`. Unset: loopback only"""
    metrics_token_file: Path | None = None
    """read `metrics_token` from this file (or the systemd credential `metrics_token`)"""

    @field_validator("store_id")
    @classmethod
    def _store_id(cls, v: str) -> str:
        if not STORE_ID_RE.match(v):
            raise ValueError("must match [A-Za-z0-9_-]{1,32} (the contract's store_id)")
        return v

    @field_validator("mqtt_url")
    @classmethod
    def _mqtt_url(cls, v: str) -> str:
        u = urlparse(v)
        if u.scheme not in ("mqtt", "mqtts") or not u.hostname:
            raise ValueError("must be mqtt://host:port or mqtts://host:port")
        try:
            u.port  # noqa: B018 - parsing raises on a bad port
        except ValueError as exc:
            raise ValueError("has a port that is not a number from 1 to 65535") from exc
        return v

    @field_validator("mqtt_failover_urls", mode="before")
    @classmethod
    def _failover_urls(cls, v: Any, info: ValidationInfo) -> Any:
        if isinstance(v, str):  # from the environment: comma-separated
            v = [u.strip() for u in v.split(",") if u.strip()]
        if isinstance(v, list):
            scheme = urlparse(str(info.data.get("mqtt_url", ""))).scheme
            for url in v:
                cls._mqtt_url(str(url))
                if urlparse(str(url)).scheme != scheme:
                    raise ValueError(f"{url!r} must use the scheme of mqtt_url ({scheme}://)")
        return v

    @field_validator("online_store_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("must be an http:// or https:// URL")
        loopback = u.hostname in ("localhost", "::1") or u.hostname.startswith("127.")
        if u.scheme == "http" and not loopback:  # issue 19: the token crosses the internet
            raise ValueError("must be an https:// URL (http:// only to this machine)")
        return v.rstrip("/")

    @field_validator("topic_prefix")
    @classmethod
    def _prefix(cls, v: str) -> str:
        if not v or any(c in v for c in "#+") or v.startswith("/") or v.endswith("/"):
            raise ValueError("must be a topic path without wildcards or leading/trailing '/'")
        return v

    @field_validator("rate_limit_lookup", "rate_limit_pin")
    @classmethod
    def _rate(cls, v: str) -> str:
        from limits import parse_many

        try:
            parse_many(v)
        except ValueError as exc:
            raise ValueError("must be a rate like '30/minute' or '5 per 10 seconds'") from exc
        return v

    @field_validator("tier_multipliers")
    @classmethod
    def _tiers(cls, v: dict[str, float]) -> dict[str, float]:
        for tier, m in v.items():
            if not 0 <= m <= 10:
                raise ValueError(f"multiplier of tier {tier!r} must be between 0 and 10")
        return v

    @field_validator("printers")
    @classmethod
    def _unique_printers(cls, v: list[PrinterConfig]) -> list[PrinterConfig]:
        names = [p.name for p in v]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"printer names must be unique; repeated: {', '.join(dupes)}")
        return v

    @model_validator(mode="after")
    def _read_secret_files(self) -> Settings:
        """Secrets may come from files (systemd ``LoadCredential``), so they never sit in env."""
        for key in ("mqtt_password", "online_store_token", "secret_key", "metrics_token"):
            path = getattr(self, f"{key}_file")
            cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
            if path is None and cred_dir and (Path(cred_dir) / key).is_file():
                path = Path(cred_dir) / key
            if path is not None and getattr(self, key) is None:
                try:
                    setattr(self, key, Path(path).read_text(encoding="utf-8").strip())
                except OSError as exc:
                    raise ValueError(f"{key}_file: cannot read {path}: {exc.strerror}") from exc
        cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
        for key, cred in (("tls_cert_file", "tls_cert"), ("tls_key_file", "tls_key")):
            if getattr(self, key) is None and cred_dir and (Path(cred_dir) / cred).is_file():
                setattr(self, key, Path(cred_dir) / cred)
        if (self.tls_cert_file is None) != (self.tls_key_file is None):
            raise ValueError("tls_cert_file and tls_key_file: give both or neither")
        return self

    # -- derived values -------------------------------------------------------------------
    @property
    def tls(self) -> bool:
        """Whether the API serves HTTPS itself."""
        return self.tls_cert_file is not None and self.tls_key_file is not None

    @property
    def mqtt_tls(self) -> bool:
        return urlparse(self.mqtt_url).scheme == "mqtts"

    @property
    def mqtt_host(self) -> str:
        return urlparse(self.mqtt_url).hostname or "127.0.0.1"

    @property
    def mqtt_port(self) -> int:
        u = urlparse(self.mqtt_url)
        return u.port or (8883 if u.scheme == "mqtts" else 1883)

    @property
    def up_source(self) -> str:
        return f"/stores/{self.store_id}"

    def redacted(self) -> dict[str, Any]:
        """Settings as shown to people: secrets replaced, so logs and CLI never print them."""
        out = self.model_dump(mode="json")
        for key in ("mqtt_password", "online_store_token", "secret_key", "metrics_token"):
            if out.get(key):
                out[key] = "***"
        return out

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Explicit values (tests, the CLI) win over the environment, which wins over the file.
        return (init_settings, env_settings)


def _key_name(loc: tuple[Any, ...]) -> str:
    if not loc:
        return "config"
    head = str(loc[0])
    rest = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc[1:])
    return f"{ENV_PREFIX}{head.upper()} ({head}{rest})"


def load_settings(path: str | Path | None = None, **overrides: Any) -> Settings:
    """Read the TOML file (``--config`` or ``PASSERELLE_CONFIG``), then the environment.

    Raises ConfigError whose message names each bad key, as the environment variable and the
    TOML key, so the person at the console knows what to fix.
    """
    path = path or os.environ.get(f"{ENV_PREFIX}CONFIG")
    file_values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as fh:
                raw = tomllib.load(fh)
        except FileNotFoundError as exc:
            raise ConfigError(f"{ENV_PREFIX}CONFIG: file not found: {path}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{ENV_PREFIX}CONFIG: {path} is not valid TOML: {exc}") from exc
        file_values = {k.lower(): v for k, v in raw.items()}
    env_keys = {k[len(ENV_PREFIX) :].lower() for k in os.environ if k.startswith(ENV_PREFIX)} - {
        "config"
    }
    # The file's values count only where neither an explicit override nor the env sets the key.
    merged = {k: v for k, v in file_values.items() if k not in env_keys}
    merged.update({k.lower(): v for k, v in overrides.items()})
    try:
        return Settings(**merged)
    except SettingsError as exc:
        # A complex value (dict, list) in the environment that is not valid JSON.
        m = re.search(r'field "([a-z_]+)"', str(exc))
        key = m.group(1) if m else "config"
        raise ConfigError(
            f"invalid configuration:\n  {_key_name((key,))}: must be JSON, e.g. "
            '{"standard": 1.0, "gold": 1.5}'
        ) from exc
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            loc = err.get("loc", ())
            msg = err.get("msg", "invalid")
            if err.get("type") == "extra_forbidden":
                msg = "is not a known setting"
            problems.append(f"{_key_name(tuple(loc))}: {msg}")
        raise ConfigError("invalid configuration:\n  " + "\n  ".join(problems)) from exc
