"""What a run measures and for how long: the full run's settings and the quick run's.

They are kept apart from the phases because they are also the run's record: every field but
the two folders is written under ``config`` in the results, so a figure can always be read
next to the sizes and durations that produced it.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from bench import dataset

ROOT = Path(__file__).resolve().parents[1]
RESULTS = ROOT / "bench" / "results"

# The phases ``--phases`` can choose from, in the order they run.
PHASES = ("lookup", "sale", "stock", "catchup", "drain")


@dataclass
class Config:
    """One run's settings. The order of the fields is the order of ``config`` in the results."""

    mode: str = "full"
    params: dataset.Params = field(default_factory=dataset.Params)
    seconds: float = 20.0
    warmup: float = 3.0
    clients: int = 8  # kiosks in the lookup phase (the "8 connections")
    tills: int = 4  # POS terminals in the sale phase (sale → broker p99 "at 4 tills")
    calibrate_seconds: float = 5.0
    single_seconds: float = 5.0
    profile_seconds: float = 8.0  # the lookup's cost breakdown (py-spy); 0: not profiled
    events: int = 100_000
    cold_starts: int = 3
    data_dir: Path = ROOT / "var" / "bench"
    out_dir: Path = RESULTS
    tool: str | None = None
    broker_inflight: int | None = None
    phases: tuple[str, ...] = PHASES


def quick(cfg: Config) -> Config:
    """``--quick``: a tiny data set and 1 s phases, enough to prove that every phase still runs
    end to end (the test suite's smoke test) without saying anything about speed."""
    return replace(
        cfg,
        mode="quick",
        params=dataset.Params(customers=1000, purchase_lines=10_000, products=500),
        seconds=1.0,
        warmup=0.5,
        calibrate_seconds=1.0,
        single_seconds=1.0,
        profile_seconds=0.0,
        events=1000,
        cold_starts=1,
    )


def recorded(cfg: Config) -> dict[str, object]:
    """The settings as the results record them: every field but the two folders, which say
    where this machine keeps files rather than what was measured."""
    return {
        k: (str(v) if isinstance(v, Path) else v)
        for k, v in asdict(cfg).items()
        if k not in ("data_dir", "out_dir")
    }
