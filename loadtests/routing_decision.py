"""Cost of one routing decision (issue 4's target: under 50 us for weighted routes).

    .venv/bin/python loadtests/routing_decision.py [--decisions 20000]

Measures ``RoutingTable.choose`` (the whole decision the router makes per request) for a
sticky A/B/n split with and without a routing key, and prints p50/p99/mean in microseconds.
"""

from __future__ import annotations

import argparse
import statistics
import time

from services.router.types import RoutingHints
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable


def split_table(arms: int) -> RoutingTable:
    variants = [{"name": f"arm-{n}", "model": f"model-{n}", "weight": n + 1} for n in range(arms)]
    return RoutingTable(
        RoutingConfig.model_validate({"routes": [{"name": "r", "variants": variants}]})
    )


def measure(table: RoutingTable, hints: list[RoutingHints]) -> list[float]:
    timings = []
    for hint in hints:
        started = time.perf_counter_ns()
        table.choose(hint)
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99)]
    print(
        f"{label:<38} p50 {p50:6.1f} us  p99 {p99:6.1f} us  mean {statistics.mean(timings):6.1f} us"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    for arms in (2, 5):
        table = split_table(arms)
        keyed = [RoutingHints(model="r", routing_key=f"user-{n}") for n in range(args.decisions)]
        unkeyed = [RoutingHints(model="r")] * args.decisions
        measure(table, keyed[:1000])  # warm-up
        report(f"split, {arms} arms, sticky key", measure(table, keyed))
        report(f"split, {arms} arms, no key (random)", measure(table, unkeyed))
    direct = [RoutingHints(model="model-0")] * args.decisions
    report("model named directly (no route)", measure(split_table(2), direct))


if __name__ == "__main__":
    main()
