"""A simulated store's down side: the online store's events taken once and in order per source,
holes and tail gaps filled from the backfill endpoint as the edge's applier fills them.

Mixed into ``SimStore`` (``bench/chain/simstore.py``), which owns the MQTT client and the
counts; this part only decides what a down-event or a status means for the store.
"""

from __future__ import annotations

import asyncio
import json
import time
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from sync import contract
from sync.applier import BACKFILL_RETRY_MAX, GAP_WAIT

if TYPE_CHECKING:
    from bench.chain.simstore import StoreCounts


class DownStream:
    """What ``SimStore`` does with what the online store sends it."""

    store_id: str
    loop: asyncio.AbstractEventLoop
    counts: StoreCounts
    backfill_url: str
    token: str
    stopping: bool
    seen: set[tuple[str, str]]
    down_last: dict[str, int]  # source → last sequence taken in order
    held: dict[str, dict[int, dict[str, Any]]]  # out-of-order, per source
    pickups: list[str]
    remote: dict[str, int]  # source → last sequence its status announced
    _gaps: dict[str, tuple[float, int, float, int]]
    _backfilling: set[str]

    def _replay(self, after: int) -> None:
        """Publish again every up-event after ``after`` (``SimStore``'s up side does it)."""

    def _status_seen(self, topic: str, payload: bytes) -> None:
        """The online store's retained status: a tail gap (its last events lost with nothing
        after them to show a hole) is fetched from the backfill endpoint, as the edge does."""
        try:
            announced = int(json.loads(payload).get("last_sequence", 0))
        except (ValueError, AttributeError, TypeError):
            return
        if topic.endswith("/status/web/chain"):
            source = contract.CHAIN_SOURCE
        else:
            source = contract.store_down_source(self.store_id)
        # Not fetched at once: the events announced may still be on their way (statuses go
        # at QoS 0 and overtake them). ``_check_gaps`` fetches once the stream stops moving.
        self.remote[source] = max(self.remote.get(source, 0), announced)

    def take(self, event: dict[str, Any], *, live: bool) -> None:
        """One down-event, in order per source, once."""
        source, seq = str(event.get("source")), int(event.get("sequence", 0))
        key = (source, str(event.get("id")))
        last = self.down_last.get(source, 0)
        if key in self.seen or seq <= last:
            if live:
                self.counts.down_duplicates += 1
            return
        if seq > last + 1:
            self.held.setdefault(source, {})[seq] = event
            if not live:
                return
            return  # a hole: the missing events may still be in flight (``_check_gaps``)
        self._apply(event, live=live)
        held = self.held.get(source, {})
        while self.down_last[source] + 1 in held:
            self._apply(held.pop(self.down_last[source] + 1), live=False)

    def _check_gaps(self, now: float) -> None:
        """As the edge's applier does: a stream that is behind (a hole, or a status announcing
        more) is fetched from the backfill endpoint only once it has not moved for GAP_WAIT,
        then again less and less often. Fetching at every status made all 500 stores fetch the
        whole chain at once whenever live deliveries lagged, which made them lag more."""
        for source in (contract.CHAIN_SOURCE, contract.store_down_source(self.store_id)):
            last = self.down_last.get(source, 0)
            if not self.held.get(source) and self.remote.get(source, 0) <= last:
                self._gaps.pop(source, None)
                continue
            since, seen, next_try, failures = self._gaps.get(source, (now, last, 0.0, 0))
            if last > seen:  # still moving: the gap may close by itself
                since, seen = now, last
            if now - since >= GAP_WAIT and now >= next_try:
                self._schedule_backfill(contract.stream_of(source))
                failures += 1
                next_try = now + min(BACKFILL_RETRY_MAX, 2.0**failures)
            self._gaps[source] = (since, seen, next_try, failures)

    def _apply(self, event: dict[str, Any], *, live: bool) -> None:
        source = str(event["source"])
        self.down_last[source] = int(event["sequence"])
        self.seen.add((source, str(event["id"])))
        self.counts.down_applied += 1
        if not live:
            self.counts.backfilled += 1
        lag = time.time() - _epoch(str(event.get("time")))
        if event.get("type") == "order.placed":
            self.counts.orders += 1
            self.counts.order_lag.append(lag)
            self.pickups.append(str(event["data"]["order_id"]))
        elif event.get("type") == "replay.requested":
            self._replay(int(event["data"]["after"]))
        elif live:
            self.counts.down_lag.append(lag)

    def _schedule_backfill(self, stream: str) -> None:
        if stream in self._backfilling or self.stopping:
            return
        self._backfilling.add(stream)
        source = (
            contract.CHAIN_SOURCE
            if stream == "chain"
            else contract.store_down_source(self.store_id)
        )
        after = self.down_last.get(source, 0)
        fut = self.loop.run_in_executor(None, self._fetch, stream, after)
        fut.add_done_callback(lambda f: self._backfilled(stream, f))

    def _fetch(self, stream: str, after: int) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        while True:
            r = requests.get(
                f"{self.backfill_url}/passerelle/v1/streams/{stream}/events",
                params={"after": after, "limit": 1000},
                headers={"Authorization": f"Bearer {self.token}"},
                timeout=30,
            )
            r.raise_for_status()
            page = r.json()
            if not page:
                return out
            out.extend(page)
            after = int(page[-1]["sequence"])

    def _backfilled(self, stream: str, fut: asyncio.Future[list[dict[str, Any]]]) -> None:
        self._backfilling.discard(stream)
        if fut.exception() is not None:
            self.loop.call_later(5.0, self._schedule_backfill, stream)
            return
        for event in fut.result():
            self.take(event, live=False)


def _epoch(iso: str) -> float:
    try:
        return datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()
    except ValueError:
        return time.time()
