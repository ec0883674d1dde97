"""The contract's schemas and helpers: valid events pass, each kind of breakage is named."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from sync import contract
from sync.contract import validation
from tests.sync.events import data_for, event

ROOT = Path(__file__).resolve().parents[2]

STREAM_OF_TYPE = {
    **{t: "/stores/S001" for t in contract.UP_TYPES},
    **{t: "/web/chain" for t in contract.CHAIN_TYPES},
    **{t: "/web/stores/S001" for t in contract.STORE_DOWN_TYPES},
}


@pytest.mark.parametrize("type_", sorted(contract.EVENT_TYPES))
def test_every_type_has_a_valid_example(type_: str) -> None:
    source = STREAM_OF_TYPE[type_]
    data = data_for(type_)
    if source.startswith("/stores/") and "channel" in data:
        data["channel"] = "store"
    ev = event(source, type_, 1, data)
    contract.validate(ev)
    assert validation._validator(f"{type_}.json").is_valid(ev)  # the reference agrees


def test_up_loyalty_entry_must_say_store() -> None:
    with pytest.raises(contract.ContractError, match="channel"):
        contract.validate(event("/stores/S001", "loyalty.entry", 1, data_for("loyalty.entry")))


@pytest.mark.parametrize(
    ("mutate", "names"),
    [
        (lambda e: e["data"].__setitem__("total", -1), "data.total"),
        (lambda e: e["data"].pop("purchase_id"), "purchase_id"),
        (lambda e: e["data"].__setitem__("surprise", 1), "surprise"),
        (lambda e: e.__setitem__("type", "purchase.deleted"), "unknown event type"),
        (lambda e: e.__setitem__("sequence", 7), "sequence"),
        (lambda e: e.__setitem__("sequence", "007"), "sequence"),
        (lambda e: e.__setitem__("specversion", "0.3"), "specversion"),
        (lambda e: e.pop("id"), "id"),
        (lambda e: e.__setitem__("source", "/stores/S001"), "source"),
        (lambda e: e["data"].__setitem__("occurred_at", "yesterday"), "occurred_at"),
        (lambda e: e["data"]["lines"].clear(), "lines"),
        (lambda e: e.__setitem__("data", []), "data"),
    ],
)
def test_breakage_is_named(mutate: Any, names: str) -> None:
    ev = event("/web/chain", "purchase.recorded", 3)
    mutate(ev)
    with pytest.raises(contract.ContractError) as info:
        contract.validate(ev)
    assert names in str(info.value)
    # The compiled fast path and the reference validator agree.
    assert not validation._fast("purchase.recorded").is_valid(ev)
    assert not validation._validator("purchase.recorded.json").is_valid(ev)


def test_percent_offer_over_100_is_refused() -> None:
    data = data_for("offer.upserted")
    data["value"] = 150
    with pytest.raises(contract.ContractError, match="value"):
        contract.validate(event("/web/chain", "offer.upserted", 1, data))


@pytest.mark.parametrize("payload", [b"\xff\xfe", b"not json", b"[1, 2]", b'"text"', b"{bad json"])
def test_parse_refuses_what_is_not_a_json_object(payload: bytes) -> None:
    with pytest.raises(contract.ContractError):
        contract.parse(payload)


def test_status_payload() -> None:
    contract.validate_status(contract.status_payload(True, 12, "2026-11-22T10:15:00.000Z"))
    with pytest.raises(contract.ContractError, match="last_sequence"):
        contract.validate_status(
            {"online": True, "last_sequence": 12, "time": "2026-11-22T10:15:00Z"}
        )


def test_topics() -> None:
    p = "passerelle/v1"
    assert (
        contract.up_topic(p, "S001", "sale.recorded")
        == "passerelle/v1/stores/S001/up/sale.recorded"
    )
    assert contract.edge_status_topic(p, "S001") == "passerelle/v1/status/stores/S001"
    assert contract.web_status_topics(p, "S001") == {
        "/web/chain": "passerelle/v1/status/web/chain",
        "/web/stores/S001": "passerelle/v1/status/web/stores/S001",
    }
    assert contract.edge_down_filters(p, "S001") == [
        "passerelle/v1/stores/S001/down/+",
        "passerelle/v1/chain/down/+",
    ]
    assert contract.parse_topic(p, "passerelle/v1/chain/down/x.y").source == "/web/chain"
    assert contract.parse_topic(p, "passerelle/v1/stores/S2/down/x.y").source == "/web/stores/S2"
    assert contract.stream_of("/web/stores/S2") == "stores/S2"
    assert contract.stream_of("/web/chain") == "chain"
    ev = event("/web/stores/S002", "order.placed", 1)
    with pytest.raises(contract.ContractError, match="source"):
        contract.check_topic(p, "passerelle/v1/stores/S001/down/order.placed", ev)
    with pytest.raises(contract.ContractError):
        contract.up_topic(p, "bad/id", "sale.recorded")


def test_asyncapi_document_matches_the_schemas() -> None:
    doc = yaml.safe_load((ROOT / "sync" / "contract" / "asyncapi.yaml").read_text())
    assert doc["asyncapi"].startswith("3.")
    names = {m["name"] for m in doc["components"]["messages"].values()}
    assert names == set(contract.EVENT_TYPES) | {"status"}
    for m in doc["components"]["messages"].values():
        ref = m["payload"]["$ref"]
        schema = json.loads((ROOT / "sync" / "contract" / ref).read_text())
        assert schema["$id"].endswith(Path(ref).name)
    for op in doc["operations"].values():
        assert op["channel"]["$ref"].split("/")[-1] in doc["channels"]


def test_contract_imports_nothing_from_edge() -> None:
    for path in (ROOT / "sync" / "contract").rglob("*.py"):
        text = path.read_text()
        assert "from edge" not in text and "import edge" not in text, path
