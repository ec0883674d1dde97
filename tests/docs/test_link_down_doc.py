"""The docs say how long each kind of cut takes to show as "link down" (issue 23): the
numbers they give are the code's, so a change to one of them fails here until the page
follows."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from edge.config import Settings
from edge.store import state
from sync import worker

ROOT = Path(__file__).resolve().parents[2]


def test_the_link_down_table_matches_the_code():
    page = (ROOT / "docs" / "sync.md").read_text()
    section = page.split('### How long a cut takes to show as "link down"')[1].split("\n## ")[0]
    keepalive = Settings.model_fields["mqtt_keepalive"].default
    assert f"{keepalive} to {2 * keepalive} s by default" in section
    assert worker.LINK_STATE_INTERVAL == 5.0 and "every 5 s" in section
    heartbeat = re.search(r"total_seconds\(\) > (\d+)", inspect.getsource(state.link))
    assert heartbeat and f"{heartbeat.group(1)} s after its last heartbeat" in section
    common = (ROOT / "kiosk_ui" / "static" / "common.js").read_text()
    poll = re.search(r"setInterval\(checkLink, (\d+)\)", common)
    assert poll and f"`/readyz` every {int(poll.group(1)) // 1000} s" in section
