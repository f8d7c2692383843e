"""Each system against the baseline (bare vLLM) at the same load, and the issue's targets.

Throughput compares output tokens/s (every request generates the same fixed number of
tokens, so it is requests/s times a constant); time to first token compares medians, as a
difference in milliseconds: the overhead a caller waits for.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .report import Run
from .stats import percentile

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


def _closed_runs(runs: Sequence[Run], system: str) -> dict[tuple[int, int], Run]:
    """The closed-loop runs of ``system``, by round and concurrency."""
    return {
        (run.round, run.concurrency): run
        for run in runs
        if run.system == system and run.mode == "closed" and run.concurrency is not None
    }


def _ratio(value: float, base: float) -> float:
    return value / base if base and not math.isnan(base) else math.nan


def ratios(runs: Sequence[Run], baseline: str = BASELINE) -> list[Ratio]:
    """Every closed-loop run of another system against the baseline's run of the same
    round at its concurrency."""
    base = _closed_runs(runs, baseline)
    result = []
    for run in runs:
        reference = base.get((run.round, run.concurrency)) if run.mode == "closed" else None
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


@dataclass(frozen=True)
class Spread:
    """One figure over the rounds: its median and its range."""

    median: float
    low: float
    high: float
    rounds: int

    @classmethod
    def of(cls, values: Sequence[float]) -> Spread:
        ordered = sorted(v for v in values if not math.isnan(v))
        if not ordered:
            return cls(math.nan, math.nan, math.nan, 0)
        return cls(percentile(ordered, 50.0), ordered[0], ordered[-1], len(ordered))

    def text(self, template: str) -> str:
        """The median in ``template`` (e.g. ``"{:.2f}x"``), and its range over several rounds."""
        if math.isnan(self.median):
            return "n/a"
        if self.rounds < 2:
            return template.format(self.median)
        low, high = template.format(self.low), template.format(self.high)
        return f"{template.format(self.median)} ({low} to {high})"


@dataclass(frozen=True)
class OverRounds:
    """One system, transport and concurrency against the baseline, over every round."""

    throughput_ratio: Spread
    ttft_overhead_ms: Spread
    # Output tokens/s against Ray Serve LLM's stock ingress in the same round.
    against_reference: Spread


Key = tuple[str, str, int]


def over_rounds(runs: Sequence[Run]) -> dict[Key, OverRounds]:
    """The ratios grouped by system, transport and concurrency (one entry per round)."""
    reference = _closed_runs(runs, REFERENCE)
    grouped: dict[Key, list[Ratio]] = {}
    for r in ratios(runs):
        key = (r.run.system, r.run.transport, r.run.concurrency or 0)
        grouped.setdefault(key, []).append(r)
    result = {}
    for key, rounds in grouped.items():
        against_reference = []
        for r in rounds:
            theirs = reference.get((r.run.round, r.run.concurrency))
            if theirs is not None and r.run.system != REFERENCE:
                against_reference.append(
                    _ratio(r.run.summary.output_tokens_per_s, theirs.summary.output_tokens_per_s)
                )
        result[key] = OverRounds(
            Spread.of([r.throughput_ratio for r in rounds]),
            Spread.of([r.ttft_overhead_ms for r in rounds]),
            Spread.of(against_reference),
        )
    return result


def targets(runs: Sequence[Run], system_prefix: str = "llm-fleet") -> list[Target]:
    """Issue 8's three targets for every llm-fleet system and transport that ran, judged on
    the median over the rounds."""
    grouped = over_rounds(runs)
    result = []
    systems = dict.fromkeys((r.system, r.transport) for r in runs if r.mode == "closed")
    for system, transport in systems:
        if not system.startswith(system_prefix):
            continue
        busy = grouped.get((system, transport, THROUGHPUT_CONCURRENCY))
        single = grouped.get((system, transport, TTFT_CONCURRENCY))
        if busy is not None:
            result.append(
                Target(
                    system,
                    transport,
                    f"output tok/s at {THROUGHPUT_CONCURRENCY} streams >= "
                    f"{THROUGHPUT_TARGET}x bare vLLM",
                    busy.throughput_ratio.text("{:.2f}x"),
                    busy.throughput_ratio.median >= THROUGHPUT_TARGET,
                )
            )
        if single is not None:
            result.append(
                Target(
                    system,
                    transport,
                    f"TTFT p50 at {TTFT_CONCURRENCY} stream <= bare vLLM + "
                    f"{TTFT_OVERHEAD_TARGET_MS:g} ms",
                    single.ttft_overhead_ms.text("{:+.1f} ms"),
                    single.ttft_overhead_ms.median <= TTFT_OVERHEAD_TARGET_MS,
                )
            )
        if busy is not None and busy.against_reference.rounds:
            result.append(
                Target(
                    system,
                    transport,
                    f"output tok/s at {THROUGHPUT_CONCURRENCY} streams >= Ray Serve LLM's",
                    busy.against_reference.text("{:.2f}x"),
                    busy.against_reference.median >= 1.0,
                )
            )
    return result


def _num(value: float, digits: int) -> str:
    return "n/a" if math.isnan(value) else f"{value:.{digits}f}"


def _median(runs: Sequence[Run], value: Callable[[Run], float]) -> float:
    return Spread.of([value(run) for run in runs]).median


def summary_markdown(runs: Sequence[Run]) -> str:
    """One row per system and transport: the numbers the targets are about, for a README
    (medians over the rounds, with the ratios' range when there were several)."""
    grouped = over_rounds(runs)
    by_key: dict[Key, list[Run]] = {}
    for run in runs:
        if run.mode == "closed" and run.concurrency is not None:
            by_key.setdefault((run.system, run.transport, run.concurrency), []).append(run)
    busy, single = THROUGHPUT_CONCURRENCY, TTFT_CONCURRENCY
    lines = [
        f"| system | transport | TTFT p50 at {single} stream | output tok/s at {busy} streams "
        f"| req/s at {busy} | TTFT p50 at {busy} | throughput vs bare vLLM at {busy} "
        f"| TTFT overhead at {single} |",
        "|---|---|---:|---:|---:|---:|---:|---:|",
    ]
    for system, transport in dict.fromkeys(key[:2] for key in by_key):
        one = by_key.get((system, transport, single), [])
        many = by_key.get((system, transport, busy), [])
        ratio = grouped.get((system, transport, busy))
        overhead = grouped.get((system, transport, single))
        ttft_one = _median(one, lambda r: r.summary.ttft_ms.p50)
        tokens = _median(many, lambda r: r.summary.output_tokens_per_s)
        requests = _median(many, lambda r: r.summary.requests_per_s)
        ttft_many = _median(many, lambda r: r.summary.ttft_ms.p50)
        lines.append(
            f"| {system} | {transport} "
            f"| {f'{ttft_one:.0f} ms' if one else 'n/a'} "
            f"| {f'{tokens:.0f}' if many else 'n/a'} "
            f"| {f'{requests:.1f}' if many else 'n/a'} "
            f"| {f'{ttft_many:.0f} ms' if many else 'n/a'} "
            f"| {ratio.throughput_ratio.text('{:.2f}x') if ratio else '1.00x (baseline)'} "
            f"| {overhead.ttft_overhead_ms.text('{:+.0f} ms') if overhead else '-'} |"
        )
    return "\n".join(lines) + "\n"


def ratios_markdown(runs: Sequence[Run]) -> str:
    """The ratios table (a row per run) and the targets' verdicts, as Markdown."""
    several = len({run.round for run in runs}) > 1
    lines = [
        "| system | transport | load | output tok/s vs bare vLLM | TTFT p50 overhead ms "
        "| TPOT p50 vs bare vLLM |",
        "|---|---|---|---:|---:|---:|",
    ]
    for r in ratios(runs):
        load = f"{r.run.load}, round {r.run.round}" if several else r.run.load
        lines.append(
            f"| {r.run.system} | {r.run.transport} | {load} | "
            f"{_num(r.throughput_ratio, 2)}x | {r.ttft_overhead_ms:+.1f} | "
            f"{_num(r.tpot_ratio, 2)}x |"
        )
    checks = targets(runs)
    if checks:
        judged = " (medians over the rounds)" if several else ""
        lines += [
            "",
            f"| system | transport | target{judged} | measured | met |",
            "|---|---|---|---:|---|",
        ]
        for t in checks:
            verdict = "yes" if t.met else "**no**"
            lines.append(f"| {t.system} | {t.transport} | {t.goal} | {t.measured} | {verdict} |")
    return "\n".join(lines) + "\n"
