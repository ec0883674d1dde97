"""The sync contract in code: its vocabulary, its JSON Schemas and their checks, its topics.

Both sides of the link use this package (the edge's sync worker and the reference online
store), so it imports nothing from ``edge/``: only the standard library, ``jsonschema``,
``jsonschema-rs``, ``orjson`` and the schema files beside it (``schemas/``). ``asyncapi.yaml``
documents the same contract for people; the schemas are the single machine-readable truth
both sides read. Callers use ``from sync import contract`` and the names below.
"""

from __future__ import annotations

from sync.contract.topics import (
    Topic,
    chain_down_topic,
    check_topic,
    down_topic_for,
    edge_down_filters,
    edge_status_topic,
    parse_topic,
    status_payload,
    status_topic,
    store_down_source,
    store_down_topic,
    stream_of,
    up_filter,
    up_source,
    up_topic,
    web_status_topics,
)
from sync.contract.types import (
    CHAIN_SOURCE,
    CHAIN_TYPES,
    DEFAULT_PREFIX,
    EVENT_TYPES,
    SCHEMA_BASE,
    STORE_DOWN_TYPES,
    STORE_ID_RE,
    UP_TYPES,
    ContractError,
    Direction,
)
from sync.contract.validation import (
    conforms,
    inlined,
    known,
    load_schema,
    parse,
    schema_names,
    sequence_of,
    validate,
    validate_status,
)

__all__ = [
    "CHAIN_SOURCE",
    "CHAIN_TYPES",
    "DEFAULT_PREFIX",
    "EVENT_TYPES",
    "SCHEMA_BASE",
    "STORE_DOWN_TYPES",
    "STORE_ID_RE",
    "UP_TYPES",
    "ContractError",
    "Direction",
    "Topic",
    "chain_down_topic",
    "check_topic",
    "conforms",
    "down_topic_for",
    "edge_down_filters",
    "edge_status_topic",
    "inlined",
    "known",
    "load_schema",
    "parse",
    "parse_topic",
    "schema_names",
    "sequence_of",
    "status_payload",
    "status_topic",
    "store_down_source",
    "store_down_topic",
    "stream_of",
    "up_filter",
    "up_source",
    "up_topic",
    "validate",
    "validate_status",
    "web_status_topics",
]
