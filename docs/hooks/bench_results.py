"""MkDocs hook: the benchmark results, generated from ``bench/results/latest.json``.

``benchmarks.md`` holds the marker ``<!-- passerelle:bench -->``. This hook replaces it with
the run's date and machine and the results table, made by ``bench.report`` (the code that
``python -m bench.report`` prints with), so the page shows whatever ``make bench`` last
committed and no number is copied by hand.

The written analysis around the table names the run it was written for in the marker
``<!-- passerelle:bench-analysis DATE -->``; when ``latest.json`` comes from another run, the
page says so above the analysis instead of passing old reasoning off as current. A page
without the marker, or an unreadable results file, is a warning (``--strict`` fails on it).
"""

from __future__ import annotations

import json
import logging
import re
import sys
from pathlib import Path
from typing import Any

MARKER = "<!-- passerelle:bench -->"
ANALYSIS = re.compile(r"<!-- passerelle:bench-analysis (.+?) -->")
PAGE = "benchmarks.md"
ROOT = Path(__file__).resolve().parents[2]
RESULTS = ROOT / "bench" / "results" / "latest.json"
log = logging.getLogger("mkdocs.plugins.passerelle.bench")  # under "mkdocs": counted by --strict


def render(results: dict[str, Any]) -> str:
    if str(ROOT) not in sys.path:  # bench/ is a folder of the repository, not an installed package
        sys.path.insert(0, str(ROOT))
    from bench.report import machine_line, markdown_table

    return f"Run of {machine_line(results)}.\n\n{markdown_table(results)}"


def on_page_markdown(markdown: str, page: Any, **_: Any) -> str:
    if page.file.src_uri != PAGE:
        return markdown
    if MARKER not in markdown:
        log.warning("%s lost its %s marker: the results table is not generated", PAGE, MARKER)
        return markdown
    try:
        results = json.loads(RESULTS.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        log.warning("cannot read %s: %s", RESULTS, exc)
        return markdown
    markdown = markdown.replace(MARKER, render(results))
    written_for = ANALYSIS.search(markdown)
    if written_for and written_for.group(1) != results.get("date"):
        note = (
            f'!!! warning "The analysis below was written for the run of {written_for.group(1)}"\n'
            f"    The table above is from the run of {results.get('date')}; "
            "read the figures from the table.\n"
        )
        markdown = markdown.replace(written_for.group(0), note)
    return markdown
