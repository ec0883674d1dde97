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
from typing import Any, Literal
from urllib.parse import urlparse

from pydantic import (
    Field,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
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
    )

    store_id: str = "S001"
    store_name: str = "Passerelle"
    db_path: Path = Path("passerelle.db")
    http_host: str = "127.0.0.1"
    http_port: int = Field(default=8080, ge=1, le=65535)
    http_workers: int = Field(default=2, ge=1, le=16)
    http_threads: int = Field(default=4, ge=1, le=64)
    secret_key: str | None = None
    secret_key_file: Path | None = None

    mqtt_url: str = "mqtt://127.0.0.1:1883"
    mqtt_username: str | None = None
    mqtt_password: str | None = None
    mqtt_password_file: Path | None = None
    mqtt_protocol: Literal["5", "3.1.1"] = "5"
    mqtt_ca_file: Path | None = None
    mqtt_cert_file: Path | None = None
    mqtt_key_file: Path | None = None
    mqtt_keepalive: int = Field(default=30, ge=5, le=3600)
    mqtt_session_expiry: int = Field(default=7 * 24 * 3600, ge=7 * 24 * 3600)
    topic_prefix: str = "passerelle/v1"

    online_store_url: str | None = None
    online_store_token: str | None = None
    online_store_token_file: Path | None = None
    backfill_page_size: int = Field(default=500, ge=1, le=1000)
    backfill_timeout: float = Field(default=10.0, gt=0, le=120)

    currency: str = Field(default="EUR", pattern=r"^[A-Z]{3}$")
    locale: Literal["fr", "en"] = "fr"
    timezone: str = "Europe/Paris"

    points_per_unit: int = Field(default=1, ge=0, le=1000)
    redeem_points_per_unit: int = Field(default=100, ge=1, le=100000)
    tier_multipliers: dict[str, float] = {"standard": 1.0, "silver": 1.25, "gold": 1.5}
    offline_grace_seconds: int = Field(default=600, ge=0)
    offline_redeem_cap: int = Field(default=1000, ge=0)
    offline_coupon_max_discount: int = Field(default=5000, ge=0)

    pickup_grace_hours: float = Field(default=24.0, ge=0)
    pickup_max_wrong_codes: int = Field(default=5, ge=1, le=100)
    kiosk_idle_seconds: int = Field(default=60, ge=5, le=3600)
    staff_locale: Literal["fr", "en"] = "fr"
    staff_session_idle_minutes: int = Field(default=15, ge=1, le=720)
    rate_limit_lookup: str = "30/minute"
    rate_limit_pin: str = "10/minute"

    outbox_retention_days: int = Field(default=30, ge=30)
    printers: list[PrinterConfig] = []
    print_retry_max_seconds: float = Field(default=30.0, gt=0, le=3600)
    print_status_interval: float = Field(
        default=30.0, gt=0, le=3600, description="how often an idle printer is asked its state"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text: one readable line per event; json: one JSON object per line "
        "(for a log shipper). Either way under systemd each line carries its journald priority",
    )

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

    @field_validator("online_store_url")
    @classmethod
    def _http_url(cls, v: str | None) -> str | None:
        if v is None or v == "":
            return None
        u = urlparse(v)
        if u.scheme not in ("http", "https") or not u.hostname:
            raise ValueError("must be an http:// or https:// URL")
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
        for key in ("mqtt_password", "online_store_token", "secret_key"):
            path = getattr(self, f"{key}_file")
            cred_dir = os.environ.get("CREDENTIALS_DIRECTORY")
            if path is None and cred_dir and (Path(cred_dir) / key).is_file():
                path = Path(cred_dir) / key
            if path is not None and getattr(self, key) is None:
                try:
                    setattr(self, key, Path(path).read_text(encoding="utf-8").strip())
                except OSError as exc:
                    raise ValueError(f"{key}_file: cannot read {path}: {exc.strerror}") from exc
        return self

    # -- derived values -------------------------------------------------------------------
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
        for key in ("mqtt_password", "online_store_token", "secret_key"):
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
