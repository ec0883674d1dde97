"""The online store's backfill endpoint, seen from the edge.

``GET {online_store_url}/passerelle/v1/streams/{stream}/events?after=&limit=`` answers a page
of a stream's events in order. The edge uses it when a sequence gap does not close by itself,
when the online store's retained status announces events it never received (tail gap), after
the broker lost its session, and to bootstrap a new store from ``after=0``.

Each request has a timeout and retries (connection errors, 429 and 5xx, with a backoff);
a failure after the retries raises BackfillError and the caller tries again later.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.util.retry import Retry

from sync import contract

BATCH_CONTENT_TYPE = "application/cloudevents-batch+json"


class BackfillError(Exception):
    """The endpoint could not be read (down, refused, or answered something unusable)."""


MAX_PAGE_BYTES = 16 * 1024 * 1024
"""Longest answer read for one page (1,000 events of a few KiB each fit many times over): a
broken or hostile endpoint cannot make the worker hold an unbounded body in memory."""


def check_url(url: str) -> None:
    """HTTPS only: the token and every store's down-stream cross the internet. Plain HTTP
    only to this machine (the demo, the tests)."""
    import ipaddress
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme == "https":
        return
    host = parts.hostname or ""
    try:
        loopback = host == "localhost" or ipaddress.ip_address(host).is_loopback
    except ValueError:
        loopback = False
    if parts.scheme != "http" or not loopback:
        raise ValueError("must be an https:// URL (http:// only to this machine: 127.0.0.1)")


class Backfill:
    def __init__(
        self,
        base_url: str,
        token: str | None,
        *,
        page_size: int = 500,
        timeout: float = 10.0,
        retries: int = 3,
    ) -> None:
        check_url(base_url)
        self.base_url = base_url.rstrip("/")
        self.page_size = max(1, min(1000, page_size))
        self.timeout = timeout
        self.session = requests.Session()
        retry = Retry(
            total=retries,
            connect=retries,
            read=retries,
            backoff_factor=0.3,
            status_forcelist=(429, 500, 502, 503, 504),
            allowed_methods=frozenset({"GET"}),
            raise_on_status=False,
        )
        adapter = HTTPAdapter(max_retries=retry)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["Accept"] = f"{BATCH_CONTENT_TYPE}, application/json"
        if token:
            self.session.headers["Authorization"] = f"Bearer {token}"

    def close(self) -> None:
        self.session.close()

    def page(
        self, source: str, after: int, limit: int | None = None, *, stream: str | None = None
    ) -> list[dict[str, Any]]:
        """One page of ``source``'s events with a sequence greater than ``after``
        (``stream``: the endpoint's name for it, when not the source's own down-stream, as
        ``stores/{id}/up`` for a store's own up-stream)."""
        stream = stream or contract.stream_of(source)
        url = f"{self.base_url}/passerelle/v1/streams/{stream}/events"
        params = {"after": str(after), "limit": str(limit or self.page_size)}
        try:
            resp = self.session.get(url, params=params, timeout=self.timeout, stream=True)
            if resp.status_code != 200:
                resp.close()
                raise BackfillError(f"GET {url}?after={after}: HTTP {resp.status_code}")
            raw = resp.raw.read(MAX_PAGE_BYTES + 1, decode_content=True)
            resp.close()
        except requests.RequestException as exc:
            raise BackfillError(f"GET {url}: {exc}") from exc
        if len(raw) > MAX_PAGE_BYTES:
            raise BackfillError(f"GET {url}: the answer is larger than {MAX_PAGE_BYTES} bytes")
        try:
            body = json.loads(raw)
        except ValueError as exc:
            raise BackfillError(f"GET {url}: the answer is not JSON") from exc
        if not isinstance(body, list):
            raise BackfillError(f"GET {url}: the answer is not a JSON array of events")
        # Items are checked one by one by the inbox (a bad one is dead-lettered, not fatal).
        return body

    def pages(
        self, source: str, after: int, *, stream: str | None = None
    ) -> Iterator[list[dict[str, Any]]]:
        """Pages from ``after`` until the end of the stream (an empty or short page)."""
        while True:
            page = self.page(source, after, stream=stream)
            if not page:
                return
            yield page
            last = max((contract.sequence_of(e) or 0 for e in page), default=0)
            if last <= after or len(page) < self.page_size:
                return
            after = last
