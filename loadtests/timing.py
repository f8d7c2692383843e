"""Shared timing helpers of the benchmarks (run as scripts from this folder)."""

from __future__ import annotations

import time
from collections.abc import Callable


def time_calls(call: Callable[[], object], iterations: int) -> list[float]:
    """Milliseconds of each of ``iterations`` calls."""
    timings = []
    for _ in range(iterations):
        started = time.perf_counter()
        call()
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def percentiles(timings_ms: list[float]) -> tuple[float, float, float]:
    ordered = sorted(timings_ms)
    last = len(ordered) - 1
    p50, p95, p99 = (ordered[min(last, int(len(ordered) * q))] for q in (0.50, 0.95, 0.99))
    return p50, p95, p99


def report(label: str, timings_ms: list[float], extra: str = "", *, digits: int = 1) -> None:
    p50, p95, p99 = percentiles(timings_ms)
    print(
        f"{label:<44} p50 {p50:7.{digits}f} ms  p95 {p95:7.{digits}f} ms  "
        f"p99 {p99:7.{digits}f} ms  {extra}"
    )
