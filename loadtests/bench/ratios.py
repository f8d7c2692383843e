"""Each system against the baseline (bare vLLM) at the same load, and the issue's targets.

Throughput compares output tokens/s (every request generates the same fixed number of
tokens, so it is requests/s times a constant); time to first token compares medians, as a
difference in milliseconds: the overhead a caller waits for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .report import Run

BASELINE = "vllm"
REFERENCE = "ray-serve-llm"
# Issue 8's targets, reported (never asserted): throughput at 16 streams, first token at 1.
THROUGHPUT_TARGET = 0.9
THROUGHPUT_CONCURRENCY = 16
TTFT_OVERHEAD_TARGET_MS = 15.0
TTFT_CONCURRENCY = 1


@dataclass(frozen=True)
class Ratio:
    """One run next to the baseline's run at the same concurrency."""

    run: Run
    throughput_ratio: float
    ttft_overhead_ms: float
    tpot_ratio: float


@dataclass(frozen=True)
class Target:
    """One target for one system and transport: what was asked, what was measured."""

    system: str
    transport: str
    goal: str
    measured: str
    met: bool


def _closed_runs(runs: Sequence[Run], system: str) -> dict[int, Run]:
    return {
        run.concurrency: run
        for run in runs
        if run.system == system and run.mode == "closed" and run.concurrency is not None
    }


def _ratio(value: float, base: float) -> float:
    return value / base if base and not math.isnan(base) else math.nan


def ratios(runs: Sequence[Run], baseline: str = BASELINE) -> list[Ratio]:
    """Every closed-loop run of another system against the baseline at its concurrency."""
    base = _closed_runs(runs, baseline)
    result = []
    for run in runs:
        reference = base.get(run.concurrency) if run.mode == "closed" else None
        if run.system == baseline or reference is None:
            continue
        s, b = run.summary, reference.summary
        result.append(
            Ratio(
                run=run,
                throughput_ratio=_ratio(s.output_tokens_per_s, b.output_tokens_per_s),
                ttft_overhead_ms=s.ttft_ms.p50 - b.ttft_ms.p50,
                tpot_ratio=_ratio(s.tpot_ms.p50, b.tpot_ms.p50),
            )
        )
    return result


def targets(runs: Sequence[Run], system_prefix: str = "llm-fleet") -> list[Target]:
    """Issue 8's three targets for every llm-fleet system and transport that ran."""
    against_baseline = ratios(runs)
    reference = _closed_runs(runs, REFERENCE).get(THROUGHPUT_CONCURRENCY)
    result = []
    systems = dict.fromkeys((r.system, r.transport) for r in runs if r.mode == "closed")
    for system, transport in systems:
        if not system.startswith(system_prefix):
            continue
        at = {
            r.run.concurrency: r
            for r in against_baseline
            if (r.run.system, r.run.transport) == (system, transport)
        }
        busy, single = at.get(THROUGHPUT_CONCURRENCY), at.get(TTFT_CONCURRENCY)
        if busy is not None:
            result.append(
                Target(
                    system,
                    transport,
                    f"output tok/s at {THROUGHPUT_CONCURRENCY} streams >= "
                    f"{THROUGHPUT_TARGET}x bare vLLM",
                    f"{busy.throughput_ratio:.2f}x",
                    busy.throughput_ratio >= THROUGHPUT_TARGET,
                )
            )
        if single is not None:
            result.append(
                Target(
                    system,
                    transport,
                    f"TTFT p50 at {TTFT_CONCURRENCY} stream <= bare vLLM + "
                    f"{TTFT_OVERHEAD_TARGET_MS:g} ms",
                    f"+{single.ttft_overhead_ms:.1f} ms",
                    single.ttft_overhead_ms <= TTFT_OVERHEAD_TARGET_MS,
                )
            )
        if busy is not None and reference is not None:
            ours = busy.run.summary.output_tokens_per_s
            theirs = reference.summary.output_tokens_per_s
            result.append(
                Target(
                    system,
                    transport,
                    f"output tok/s at {THROUGHPUT_CONCURRENCY} streams >= Ray Serve LLM's",
                    f"{_ratio(ours, theirs):.2f}x",
                    ours >= theirs,
                )
            )
    return result


def _num(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def summary_markdown(runs: Sequence[Run]) -> str:
    """One row per system and transport: the numbers the targets are about, for a README."""
    against = {(r.run.system, r.run.transport, r.run.concurrency): r for r in ratios(runs)}
    by_key = {(r.system, r.transport, r.concurrency): r for r in runs if r.mode == "closed"}
    busy, single = THROUGHPUT_CONCURRENCY, TTFT_CONCURRENCY
    lines = [
        f"| system | transport | TTFT p50 at {single} stream | output tok/s at {busy} streams "
        f"| req/s at {busy} | TTFT p50 at {busy} | throughput vs bare vLLM at {busy} "
        f"| TTFT overhead at {single} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for system, transport in dict.fromkeys((r.system, r.transport) for r in by_key.values()):
        one, many = by_key.get((system, transport, single)), by_key.get((system, transport, busy))
        ratio = against.get((system, transport, busy))
        overhead = against.get((system, transport, single))
        lines.append(
            f"| {system} | {transport} "
            f"| {f'{one.summary.ttft_ms.p50:.0f} ms' if one else 'n/a'} "
            f"| {f'{many.summary.output_tokens_per_s:.0f}' if many else 'n/a'} "
            f"| {f'{many.summary.requests_per_s:.1f}' if many else 'n/a'} "
            f"| {f'{many.summary.ttft_ms.p50:.0f} ms' if many else 'n/a'} "
            f"| {f'{_num(ratio.throughput_ratio, 2)}x' if ratio else '1.00x (baseline)'} "
            f"| {f'{overhead.ttft_overhead_ms:+.0f} ms' if overhead else '-'} |"
        )
    return "\n".join(lines) + "\n"


def ratios_markdown(runs: Sequence[Run]) -> str:
    """The ratios table and the targets' verdicts, as Markdown."""
    lines = [
        "| system | transport | load | output tok/s vs bare vLLM | TTFT p50 overhead ms "
        "| TPOT p50 vs bare vLLM |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in ratios(runs):
        lines.append(
            f"| {r.run.system} | {r.run.transport} | {r.run.load} | "
            f"{_num(r.throughput_ratio, 2)}x | {r.ttft_overhead_ms:+.1f} | "
            f"{_num(r.tpot_ratio, 2)}x |"
        )
    checks = targets(runs)
    if checks:
        lines += ["", "| system | transport | target | measured | met |", "|---|---|---|---:|---|"]
        for t in checks:
            verdict = "yes" if t.met else "**no**"
            lines.append(f"| {t.system} | {t.transport} | {t.goal} | {t.measured} | {verdict} |")
    return "\n".join(lines) + "\n"
