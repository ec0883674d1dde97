"""Where things are on a screen, for the browser tests: boxes that overlap, text that fits."""

from __future__ import annotations

from typing import Any


def overlap(a: dict[str, float], b: dict[str, float]) -> bool:
    """Whether two bounding boxes (Playwright's ``bounding_box()``) share any pixel."""
    return not (
        a["x"] + a["width"] <= b["x"]
        or b["x"] + b["width"] <= a["x"]
        or a["y"] + a["height"] <= b["y"]
        or b["y"] + b["height"] <= a["y"]
    )


def covered(page: Any, on_top: str, *below: str) -> list[tuple[Any, Any]]:
    """The boxes of ``below`` (every match of each selector) that ``on_top`` covers."""
    top = page.locator(on_top).bounding_box()
    hit = []
    for selector in below:
        for loc in page.locator(selector).all():
            box = loc.bounding_box()
            if box and overlap(top, box):
                hit.append((selector, box))
    return hit
