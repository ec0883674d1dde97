"""A printer's configuration: a python-escpos connection plus what the store uses it for.

It lives with the printers (not with the edge's settings) so that ``hardware`` stands alone:
the edge's ``Settings`` holds a list of these, and nothing here knows about the edge.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class PrinterConfig(BaseModel):
    """One named printer: a python-escpos connection plus what the store uses it for."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[A-Za-z0-9_-]{1,32}$")
    connection: Literal["network", "usb", "serial", "file", "dummy"] = "network"
    host: str | None = None
    port: int = Field(default=9100, ge=1, le=65535)
    vendor_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    product_id: int | None = Field(default=None, ge=0, le=0xFFFF)
    device: str | None = None
    baudrate: int = Field(default=19200, ge=1200, le=921600)
    path: str | None = None
    width: int = Field(default=48, ge=24, le=64, description="characters per line")
    profile: str = "default"
    codepage: Literal["auto", "CP1252", "ISO_8859-15", "CP858"] = Field(
        default="auto",
        description="auto: CP1252 where the profile has it (every French letter and €)",
    )
    roles: list[Literal["receipts", "pickup_slips", "tickets"]] = Field(
        default=["receipts"], min_length=1
    )
    timeout: float = Field(default=5.0, gt=0, le=60)
    status_query: bool | None = Field(
        default=None,
        description="ask the printer for its state (DLE EOT) before and after each job; "
        "default: on for network, usb and serial",
    )
    cash_drawer: bool = False
    drawer_pin: Literal[2, 5] = 2

    @model_validator(mode="after")
    def _connection_needs(self) -> PrinterConfig:
        needs = {"network": "host", "usb": "vendor_id", "serial": "device", "file": "path"}
        key = needs.get(self.connection)
        if key and getattr(self, key) in (None, ""):
            raise ValueError(f"printer {self.name!r}: a {self.connection} printer needs {key!r}")
        if self.connection == "usb" and self.product_id is None:
            raise ValueError(f"printer {self.name!r}: a usb printer needs 'product_id'")
        return self

    @field_validator("profile")
    @classmethod
    def _known_profile(cls, v: str) -> str:
        from escpos.capabilities import get_profile

        try:
            get_profile(v)
        except Exception as exc:  # escpos raises a bare KeyError-like NotSupported
            raise ValueError(f"unknown python-escpos capability profile {v!r}") from exc
        return v

    @property
    def queries_status(self) -> bool:
        if self.status_query is not None:
            return self.status_query
        return self.connection in ("network", "usb", "serial")
