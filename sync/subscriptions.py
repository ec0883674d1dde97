"""The edge's subscriptions and their SUBACKs: a filter is trusted only once granted.

A SUBACK can refuse a filter (MQTT 5 reason codes >= 0x80, 3.1.1's 0x80) or grant it at QoS 0;
paho reports either as a completed SUBSCRIBE, and the edge would then wait for down-events
that never come while its link reads "connected" (RELIABILITY.md #13). So each SUBSCRIBE is
remembered by its message id with the filters it asked for; a refused filter is reported (a
log line, the link state that ``/readyz``, the metrics and the offline policy read: the online
store counts as unreachable while a filter it needs is refused) and asked for again with a
back-off (2 s doubling to 60 s), since a broker's ACL can be fixed while the edge runs.

paho calls ``on_suback`` on its network thread while the worker's thread asks ``due``: one
lock guards the state. Nothing here touches the database or waits.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any

from edge.store import db

log = logging.getLogger("passerelle.sync")

RETRY_FIRST = 2.0
RETRY_MAX = 60.0


class Subscriptions:
    """The filters one connection needs, which SUBSCRIBEs are unanswered, which are refused."""

    def __init__(self, filters: dict[str, int]) -> None:
        self.qos = dict(filters)  # filter -> the QoS it must be granted
        self.filters = list(filters)
        self._lock = threading.Lock()
        self._asked: dict[int, list[str]] = {}  # SUBSCRIBE mid -> the filters it asked for
        self._granted: set[str] = set()
        self.refused: dict[str, str] = {}  # filter -> the broker's reason
        self.refused_since: str | None = None
        self._retry_at: float | None = None
        self._delay = RETRY_FIRST
        self.refusals = 0  # SUBACKs that refused something, since the start (tests, logs)

    def reset(self) -> None:
        """A new connection: nothing is granted until its SUBACKs say so."""
        with self._lock:
            self._asked.clear()
            self._granted.clear()
            self._retry_at = None

    def asked(self, mid: int | None, filters: list[str]) -> None:
        """Remember what the SUBSCRIBE ``mid`` asked for (its SUBACK is checked)."""
        if mid is not None:
            with self._lock:
                self._asked[mid] = list(filters)

    def knows(self, mid: int) -> bool:
        with self._lock:
            return mid in self._asked

    @property
    def all_granted(self) -> bool:
        with self._lock:
            return not self.refused and self._granted.issuperset(self.filters)

    def on_suback(self, mid: int, reason_codes: list[Any]) -> bool:
        """Check one SUBACK; return whether every needed filter is now granted."""
        with self._lock:
            filters = self._asked.pop(mid, [])
            newly_refused = []
            for f, rc in zip(filters, reason_codes, strict=False):
                if rc.is_failure or rc.value < self.qos.get(f, 1):  # refused, or downgraded
                    reason = str(rc) if rc.is_failure else f"granted QoS {rc.value}"
                    self.refused[f] = reason
                    self._granted.discard(f)
                    newly_refused.append(f"{f} ({reason})")
                else:
                    self.refused.pop(f, None)
                    self._granted.add(f)
            if newly_refused:
                self.refusals += 1
                if self.refused_since is None:
                    self.refused_since = db.now_iso()
                self._retry_at = time.monotonic() + self._delay
                log.error(
                    "MQTT subscription refused by the broker: %s; asking again in %.0f s",
                    ", ".join(newly_refused),
                    self._delay,
                )
                self._delay = min(RETRY_MAX, self._delay * 2)
            elif not self.refused:
                if self.refused_since is not None:
                    log.info("MQTT subscriptions granted again")
                self.refused_since = None
                self._retry_at = None
                self._delay = RETRY_FIRST
            return not self.refused and self._granted.issuperset(self.filters)

    def due(self, now: float) -> list[str]:
        """The refused filters to ask for again now (back-off permitting), or none."""
        with self._lock:
            if not self.refused or self._retry_at is None or now < self._retry_at:
                return []
            self._retry_at = None  # the next SUBACK sets it again if still refused
            return sorted(self.refused)
