"""Our load generator's ratios next to vLLM's own benchmark's, on the same systems.

Both clients send the same prompts (vLLM's benchmark reads our prompt file in the ShareGPT
layout, in its own shuffled order) with the same output length; the ratios against bare
vLLM at the same concurrency are what must agree.
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from .ratios import BASELINE, ratios
from .report import Run


def load_cross_check(out_dir: Path) -> list[dict[str, Any]]:
    """Every ``vllm-bench-<system>.json`` row written into ``out_dir``."""
    rows: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("vllm-bench-*.json")):
        rows += json.loads(path.read_text(encoding="utf-8"))
    return rows


def _num(value: float | None, digits: int = 1) -> str:
    return "n/a" if value is None or math.isnan(value) else f"{value:.{digits}f}"


def cross_check_markdown(rows: Sequence[dict[str, Any]], runs: Sequence[Run]) -> str:
    """vLLM's benchmark's numbers, and both clients' ratios against bare vLLM."""
    lines = [
        "| system | load | req/s | output tok/s | TTFT p50 ms | TPOT p50 ms | failed |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for row in rows:
        lines.append(
            f"| {row['system']} | c={row['concurrency']} | {_num(row['request_throughput'], 2)} "
            f"| {_num(row['output_throughput'])} | {_num(row['median_ttft_ms'])} "
            f"| {_num(row['median_tpot_ms'], 2)} | {row['failed']} |"
        )
    baseline = {row["concurrency"]: row for row in rows if row["system"] == BASELINE}
    ours = {
        (r.run.system, r.run.concurrency): r
        for r in ratios(runs)
        if r.run.transport == "http" and r.run.round == 1  # the cross-check runs in round 1
    }
    lines += [
        "",
        "| system | load | tok/s vs bare vLLM: vllm bench | ours "
        "| TTFT overhead ms: vllm bench | ours |",
        "|---|---|---:|---:|---:|---:|",
    ]
    for row in rows:
        base = baseline.get(row["concurrency"])
        if row["system"] == BASELINE or base is None:
            continue
        theirs_ratio = row["output_throughput"] / base["output_throughput"]
        theirs_ttft = row["median_ttft_ms"] - base["median_ttft_ms"]
        mine = ours.get((row["system"], row["concurrency"]))
        lines.append(
            f"| {row['system']} | c={row['concurrency']} | {theirs_ratio:.2f}x "
            f"| {_num(mine.throughput_ratio, 2) + 'x' if mine else 'n/a'} "
            f"| {theirs_ttft:+.1f} | {f'{mine.ttft_overhead_ms:+.1f}' if mine else 'n/a'} |"
        )
    return "\n".join(lines) + "\n"
