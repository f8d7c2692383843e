"""PNG plots of closed-loop runs: latency and throughput against concurrency, one line per
system and transport."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only: no display on servers and CI

import matplotlib.pyplot as plt

from .report import Run
from .stats import Summary

Metric = tuple[str, Callable[[Summary], float]]

LATENCY: tuple[Metric, ...] = (
    ("TTFT p50 (ms)", lambda s: s.ttft_ms.p50),
    ("TPOT p50 (ms)", lambda s: s.tpot_ms.p50),
    ("end-to-end p50 (ms)", lambda s: s.e2e_ms.p50),
)
THROUGHPUT: tuple[Metric, ...] = (
    ("output tokens/s", lambda s: s.output_tokens_per_s),
    ("requests/s", lambda s: s.requests_per_s),
)


def _series(runs: Sequence[Run]) -> dict[str, list[Run]]:
    """Closed-loop runs grouped by ``system (transport)``, each sorted by concurrency."""
    grouped: dict[str, list[Run]] = {}
    for run in runs:
        if run.mode == "closed" and run.concurrency is not None:
            grouped.setdefault(f"{run.system} ({run.transport})", []).append(run)
    return {
        label: sorted(group, key=lambda r: r.concurrency or 0) for label, group in grouped.items()
    }


def _plot(runs: Sequence[Run], metrics: Sequence[Metric], title: str, path: Path) -> Path:
    series = _series(runs)
    figure, axes = plt.subplots(1, len(metrics), figsize=(5 * len(metrics), 4), squeeze=False)
    for axis, (label, value) in zip(axes[0], metrics, strict=True):
        for name, group in series.items():
            axis.plot(
                [r.concurrency for r in group],
                [value(r.summary) for r in group],
                marker="o",
                label=name,
            )
        axis.set_xscale("log", base=2)
        loads = sorted({r.concurrency for group in series.values() for r in group})
        axis.set_xticks(loads, [str(load) for load in loads])
        axis.set_xlabel("concurrent streams")
        axis.set_ylabel(label)
        axis.grid(True, alpha=0.3)
    axes[0][0].legend(fontsize="small")
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def write_plots(runs: Sequence[Run], out_dir: str | Path, title: str = "") -> list[Path]:
    """``latency.png`` and ``throughput.png`` in ``out_dir``; none when no closed-loop runs."""
    if not _series(runs):
        return []
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    return [
        _plot(runs, LATENCY, f"Latency {title}".strip(), out / "latency.png"),
        _plot(runs, THROUGHPUT, f"Throughput {title}".strip(), out / "throughput.png"),
    ]
