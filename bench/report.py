"""The results table: each figure, its baseline from the same run, the ratio and the target.

``python -m bench.report [results.json]`` prints it again as Markdown (for the README).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

COLUMNS = ("figure", "Passerelle", "baseline", "ratio", "target", "met")


def fmt(value: Any, unit: str = "") -> str:
    """A value for the table: no decimals from 100 up, at most two below, thousands marked."""
    if value is None:
        return "—"
    if isinstance(value, float):
        text = f"{value:,.0f}" if abs(value) >= 100 else f"{value:,.2f}".rstrip("0").rstrip(".")
    else:
        text = f"{value:,}" if isinstance(value, int) else str(value)
    return f"{text} {unit}".strip()


def rows(results: dict[str, Any]) -> list[tuple[str, ...]]:
    """One row of text cells per figure, in ``COLUMNS`` order."""
    out: list[tuple[str, ...]] = []
    for f in results.get("figures", []):
        ratio = f.get("ratio")
        met = f.get("met")
        out.append(
            (
                f["name"],
                fmt(f.get("value"), f.get("unit", ""))
                if f.get("value") is not None
                else f.get("note", "—"),
                fmt(f.get("baseline"), f.get("unit", "")),
                f"{ratio:.2f}×" if isinstance(ratio, int | float) else "—",
                f.get("target") or "—",
                "—" if met is None else ("yes" if met else "NO"),
            )
        )
    return out


def text_table(results: dict[str, Any]) -> str:
    """The table printed at the end of a run."""
    body = rows(results)
    widths = [max(len(r[i]) for r in [COLUMNS, *body]) for i in range(len(COLUMNS))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True))]
    lines.append("  ".join("-" * w for w in widths))
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in body]
    return "\n".join(lines)


def markdown_table(results: dict[str, Any]) -> str:
    """The same table as Markdown, for the docs, with one more column: what the run measured
    about a figure (why a target was missed, what a setting was raised for)."""
    body = rows(results)
    notes = [
        (f.get("note") or "") if f.get("value") is not None else ""
        for f in results.get("figures", [])
    ]
    head = (*COLUMNS, "note")
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    lines += [
        "| " + " | ".join((*r, n.replace("|", "/"))) + " |"
        for r, n in zip(body, notes, strict=True)
    ]
    return "\n".join(lines)


def machine_line(results: dict[str, Any]) -> str:
    """One line saying what box and versions the figures come from, and how long it took."""
    m = results.get("machine", {})
    return (
        f"{results.get('date', '?')}, {m.get('nproc', '?')} cores ({m.get('cpu', '?')}), "
        f"{m.get('ram_gb', '?')} GB RAM, Python {m.get('python', '?')}, "
        f"SQLite {m.get('sqlite', '?')}, {m.get('mosquitto', '?')}; "
        f"whole run {results.get('duration_s', '?')} s"
    )


def main(argv: list[str] | None = None) -> int:
    """``python -m bench.report [results.json]``: the Markdown table of a results file."""
    argv = sys.argv[1:] if argv is None else argv
    path = Path(argv[0]) if argv else Path(__file__).parent / "results" / "latest.json"
    results = json.loads(path.read_text())
    print(machine_line(results))
    print()
    print(markdown_table(results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
