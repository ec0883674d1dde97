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

    name: str = Field(
        pattern=r"^[A-Za-z0-9_-]{1,32}$",
        description="the printer's name (`passerelle printer test NAME`, `/api/v1/printers`)",
    )
    connection: Literal["network", "usb", "serial", "file", "dummy"] = Field(
        default="network", description="the python-escpos connection"
    )
    host: str | None = Field(
        default=None, description="network printer's address (needed for `network`)"
    )
    port: int = Field(default=9100, ge=1, le=65535, description="network printer's TCP port")
    vendor_id: int | None = Field(
        default=None, ge=0, le=0xFFFF, description="USB vendor id, e.g. `0x04b8` (needed for `usb`)"
    )
    product_id: int | None = Field(
        default=None, ge=0, le=0xFFFF, description="USB product id (needed for `usb`)"
    )
    device: str | None = Field(
        default=None, description="serial device, e.g. `/dev/ttyUSB0` (needed for `serial`)"
    )
    baudrate: int = Field(default=19200, ge=1200, le=921600, description="serial speed")
    path: str | None = Field(
        default=None,
        description="file or device to write to, e.g. `/dev/usb/lp0` (needed for `file`)",
    )
    width: int = Field(default=48, ge=24, le=64, description="characters per line")
    profile: str = Field(
        default="default",
        description=(
            "a python-escpos capability profile, e.g. `TM-T20II`; an unknown one stops the start"
        ),
    )
    codepage: Literal["auto", "CP1252", "ISO_8859-15", "CP858"] = Field(
        default="auto",
        description="auto: CP1252 where the profile has it (every French letter and €)",
    )
    roles: list[Literal["receipts", "pickup_slips", "tickets"]] = Field(
        default=["receipts"],
        min_length=1,
        description="the jobs it takes; the first printer listed for a role takes that role's jobs",
    )
    timeout: float = Field(
        default=5.0, gt=0, le=60, description="seconds to connect and to wait for the printer"
    )
    status_query: bool | None = Field(
        default=None,
        description="ask the printer for its state (DLE EOT) before and after each job; "
        "default: on for network, usb and serial",
    )
    cash_drawer: bool = Field(default=False, description="kick the cash drawer on cash sales")
    drawer_pin: Literal[2, 5] = Field(default=2, description="the drawer's kick pin")

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
