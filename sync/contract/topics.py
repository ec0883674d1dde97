"""The contract's topics and sources: where each stream's events and status are published,
and reading a topic back (CONTRACT.md, "Topics")."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sync.contract.types import CHAIN_SOURCE, STORE_ID_RE, ContractError, Direction


def up_source(store_id: str) -> str:
    return f"/stores/{_store(store_id)}"


def store_down_source(store_id: str) -> str:
    return f"/web/stores/{_store(store_id)}"


def _store(store_id: str) -> str:
    if not STORE_ID_RE.match(store_id):
        raise ContractError(f"store_id {store_id!r} does not match [A-Za-z0-9_-]{{1,32}}")
    return store_id


def up_topic(prefix: str, store_id: str, type_: str) -> str:
    """``{prefix}/stores/{store_id}/up/{type}``: one store's edge publishes here."""
    return f"{prefix}/stores/{_store(store_id)}/up/{type_}"


def store_down_topic(prefix: str, store_id: str, type_: str) -> str:
    """``{prefix}/stores/{store_id}/down/{type}``: the online store to one store."""
    return f"{prefix}/stores/{_store(store_id)}/down/{type_}"


def chain_down_topic(prefix: str, type_: str) -> str:
    """``{prefix}/chain/down/{type}``: the online store to every store."""
    return f"{prefix}/chain/down/{type_}"


def down_topic_for(prefix: str, source: str, type_: str) -> str:
    """The down topic of an event of ``source`` (``/web/chain`` or ``/web/stores/{id}``)."""
    if source == CHAIN_SOURCE:
        return chain_down_topic(prefix, type_)
    if source.startswith("/web/stores/"):
        return store_down_topic(prefix, source.rsplit("/", 1)[1], type_)
    raise ContractError(f"{source!r} is not a down-stream source")


# The filters end in ``+``, not ``#``: an event topic has exactly one level after ``up`` or
# ``down`` (its type; ``parse_topic`` refuses more), so both match the same messages, but NATS
# maps a ``#`` filter to two subjects (``x`` and ``x.>``) and so to two durable JetStream
# consumers per QoS 1 subscription: twice the replicated state per store (docs/chain.md).


def up_filter(prefix: str, store_id: str = "+") -> str:
    """Subscription filter of up-events (``+`` for every store, as the online store uses)."""
    return f"{prefix}/stores/{store_id}/up/+"


def edge_down_filters(prefix: str, store_id: str) -> list[str]:
    """What an edge subscribes to: its own down stream and the chain's."""
    return [f"{prefix}/stores/{_store(store_id)}/down/+", f"{prefix}/chain/down/+"]


def status_topic(prefix: str, source: str) -> str:
    """``{prefix}/status`` followed by the stream's source (``/stores/S001``, ``/web/chain``)."""
    if not source.startswith("/"):
        raise ContractError(f"source {source!r} must start with '/'")
    return f"{prefix}/status{source}"


def edge_status_topic(prefix: str, store_id: str) -> str:
    return status_topic(prefix, up_source(store_id))


def web_status_topics(prefix: str, store_id: str) -> dict[str, str]:
    """The online store's retained status topics an edge watches, by the source they describe."""
    return {
        CHAIN_SOURCE: status_topic(prefix, CHAIN_SOURCE),
        store_down_source(store_id): status_topic(prefix, store_down_source(store_id)),
    }


def stream_of(source: str) -> str:
    """The backfill endpoint's ``{stream}`` for a source: ``chain`` or ``stores/{id}``."""
    if source == CHAIN_SOURCE:
        return "chain"
    if source.startswith("/web/stores/"):
        return "stores/" + _store(source.rsplit("/", 1)[1])
    if source.startswith("/stores/"):
        return "stores/" + _store(source.rsplit("/", 1)[1])
    raise ContractError(f"{source!r} names no stream")


@dataclass(frozen=True)
class Topic:
    """A parsed event topic: which direction, which store (None for the chain), which type."""

    direction: Direction
    store_id: str | None
    type: str

    @property
    def source(self) -> str:
        if self.direction == "up":
            return f"/stores/{self.store_id}"
        return CHAIN_SOURCE if self.store_id is None else f"/web/stores/{self.store_id}"


def parse_topic(prefix: str, topic: str) -> Topic:
    """Read an event topic back; ContractError when it is not one of the contract's."""
    return _parse_topic(prefix, topic)


@lru_cache(maxsize=1024)  # a consumer sees the same few topics again and again
def _parse_topic(prefix: str, topic: str) -> Topic:
    if not topic.startswith(prefix + "/"):
        raise ContractError(f"topic {topic!r} is outside the prefix {prefix!r}")
    parts = topic[len(prefix) + 1 :].split("/")
    if len(parts) == 3 and parts[0] == "chain" and parts[1] == "down":
        return Topic("down", None, parts[2])
    if len(parts) == 4 and parts[0] == "stores" and parts[2] in ("up", "down"):
        _store(parts[1])
        direction: Direction = "up" if parts[2] == "up" else "down"
        return Topic(direction, parts[1], parts[3])
    raise ContractError(f"topic {topic!r} is not an event topic of the contract")


def check_topic(prefix: str, topic: str, event: dict[str, Any]) -> None:
    """The envelope must agree with the topic it came on: same source, same type."""
    t = parse_topic(prefix, topic)
    if event.get("source") != t.source:
        raise ContractError(
            f"source {event.get('source')!r} does not belong on topic {topic!r} "
            f"(expected {t.source!r})",
            path="source",
        )
    if event.get("type") != t.type:
        raise ContractError(
            f"type {event.get('type')!r} does not match the topic's {t.type!r}", path="type"
        )


def status_payload(online: bool, last_sequence: int, time: str) -> dict[str, Any]:
    """The retained status message of a stream's publisher."""
    return {"online": online, "last_sequence": str(last_sequence), "time": time}
