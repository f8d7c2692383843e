"""Run results as JSON (for later plotting) and as a Markdown table (for humans)."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from .stats import Summary

COLUMNS = (
    "system",
    "transport",
    "concurrency / rate",
    "req/s",
    "output tok/s",
    "TTFT p50 ms",
    "TTFT p90 ms",
    "TTFT p99 ms",
    "TPOT p50 ms",
    "E2E p50 ms",
    "E2E p99 ms",
    "errors",
)


@dataclass(frozen=True)
class Run:
    """One run's labels and summary: what was measured, how, and the numbers."""

    system: str
    transport: str
    mode: str  # "closed" (fixed concurrency) or "open" (Poisson arrivals at ``rate``)
    summary: Summary
    concurrency: int | None = None
    rate: float | None = None
    # ``make bench --rounds N`` measures every system N times, in turn: each round's runs
    # are compared with the baseline's run of the same round.
    round: int = 1

    @property
    def load(self) -> str:
        """The load column: ``c=16`` for a closed loop, ``4.0 req/s`` for an open one."""
        if self.mode == "open":
            return f"{self.rate:g} req/s"
        return f"c={self.concurrency}"

    def to_dict(self) -> dict[str, object]:
        """Labels plus the summary, as one flat-topped JSON object."""
        return {
            "system": self.system,
            "transport": self.transport,
            "mode": self.mode,
            "concurrency": self.concurrency,
            "rate": self.rate,
            "round": self.round,
            **self.summary.to_dict(),
        }


def _no_nan(value: object) -> object:
    """NaN (a metric with no samples) is not valid JSON: write it as null."""
    if isinstance(value, float) and math.isnan(value):
        return None
    if isinstance(value, dict):
        return {k: _no_nan(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_no_nan(v) for v in value]
    return value


def to_json(runs: Sequence[Run]) -> str:
    """All runs as a pretty-printed JSON list (strict JSON: NaN becomes null)."""
    return json.dumps([_no_nan(run.to_dict()) for run in runs], indent=2, allow_nan=False) + "\n"


def _num(value: float, digits: int = 1) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def to_markdown(runs: Sequence[Run]) -> str:
    """A Markdown table: a header, a separator and one row per run."""
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "|".join("---" if i < 3 else "---:" for i in range(len(COLUMNS))) + "|",
    ]
    for run in runs:
        s = run.summary
        cells = [
            run.system,
            run.transport,
            run.load,
            _num(s.requests_per_s, 2),
            _num(s.output_tokens_per_s),
            _num(s.ttft_ms.p50),
            _num(s.ttft_ms.p90),
            _num(s.ttft_ms.p99),
            _num(s.tpot_ms.p50, 2),
            _num(s.e2e_ms.p50),
            _num(s.e2e_ms.p99),
            f"{s.errors}/{s.requests}",
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_reports(runs: Sequence[Run], out_dir: str | Path) -> tuple[Path, Path]:
    """Write ``results.json`` and ``results.md`` into ``out_dir`` (created if missing)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "results.json", out / "results.md"
    json_path.write_text(to_json(runs), encoding="utf-8")
    md_path.write_text(to_markdown(runs), encoding="utf-8")
    return json_path, md_path
