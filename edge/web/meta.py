"""The API's own description, the audit log and the sync status."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, jsonify
from pydantic import BaseModel, ConfigDict, Field

from edge.store import audit
from edge.system import status
from edge.web.context import get_db, settings
from edge.web.models import In
from edge.web.routing import operation

bp = Blueprint("meta", __name__)


class OpenApiDoc(BaseModel):
    model_config = ConfigDict(extra="allow")
    openapi: str


class AuditQuery(In):
    model_config = ConfigDict(strict=False, extra="forbid")
    limit: int = Field(default=100, ge=1, le=1000)
    before: int | None = Field(default=None, ge=1, le=2**63 - 1)


class AuditEntry(BaseModel):
    audit_id: int
    at: str
    actor: str
    role: str | None
    action: str
    target: str | None
    detail: dict[str, Any]


class AuditPage(BaseModel):
    items: list[AuditEntry]


class SyncStatus(BaseModel):
    model_config = ConfigDict(extra="allow")
    link: dict[str, Any]
    outbox: dict[str, Any]


@operation(
    bp,
    "/openapi.json",
    name="openapi",
    tags=["meta"],
    summary="This document",
    responses={200: OpenApiDoc},
)
def openapi() -> Any:
    from edge.web.openapi import build

    return jsonify(build())


@operation(
    bp,
    "/audit",
    name="audit.list",
    tags=["admin"],
    summary="The audit log, newest first",
    query=AuditQuery,
    responses={200: AuditPage},
)
def audit_list(query: AuditQuery) -> AuditPage:
    return AuditPage(
        items=audit.entries(
            get_db(),
            limit=query.limit,  # type: ignore[arg-type]
            before=query.before,
        )
    )


@operation(
    bp,
    "/sync/status",
    name="sync.status",
    tags=["admin"],
    summary="Link, outbox backlog, sequences per stream, dead letters",
    responses={200: SyncStatus},
)
def sync_status() -> SyncStatus:
    return SyncStatus(**status.sync_status(get_db(), settings()))
