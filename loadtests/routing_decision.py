"""Cost of one routing decision (target: under 50 us, tokenization and embedding excluded).

    .venv/bin/python loadtests/routing_decision.py [--decisions 20000]

Measures ``RoutingTable.choose`` (the whole decision the router makes per request) for a
sticky A/B/n split with and without a routing key, and for a rules route with and without
a prompt-length rule; prints p50/p99/mean in microseconds. Prompt-length rules are timed
with a counter that already knows the answer (the decision itself), and tokenization with
the zoo's real tokenizer is reported on its own lines, as is building the request facts.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable

from cluster.zoo import zoo_path
from services.router.facts import request_facts
from services.router.requests import ChatCompletionRequest
from services.router.types import RequestFacts, RoutingHints
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable
from services.routing.tokens import HuggingFaceTokenCounter

NO_FACTS = RequestFacts()
MESSAGES = [
    {"role": "system", "content": "You are the on-call assistant of the platform team."},
    {"role": "user", "content": "Summarise the incident report below in three bullets. " * 20},
]


class KnownCount:
    """A token counter that already knows the answer: times the decision alone."""

    def __init__(self, tokens: int) -> None:
        self.tokens = tokens

    async def count(self, model: str, facts: RequestFacts) -> int:
        return self.tokens


def split_table(arms: int) -> RoutingTable:
    variants = [{"name": f"arm-{n}", "model": f"model-{n}", "weight": n + 1} for n in range(arms)]
    return RoutingTable(
        RoutingConfig.model_validate({"routes": [{"name": "r", "variants": variants}]})
    )


def rules_table(*, token_rule: bool, counter: object = None) -> RoutingTable:
    """Five rules where the benchmark requests match none of the first four."""
    rules = [
        {"name": "vip", "model": "m1", "match": {"tenants": ["vip", "partner"]}},
        {"name": "eu", "model": "m2", "match": {"labels": {"region": "eu", "tier": "gold"}}},
        {"name": "tools", "model": "m3", "match": {"features": ["tools", "json"]}},
        {"name": "batch", "model": "m4", "match": {"tenants": ["batch"], "features": ["stream"]}},
    ]
    last = {"min_prompt_tokens": 200} if token_rule else {"labels": {"tier": "silver"}}
    rules.append({"name": "last", "model": "m5", "match": last})
    route = {"name": "r", "kind": "rules", "rules": rules, "default": "m0", "tokenizer": "tok"}
    return RoutingTable(RoutingConfig.model_validate({"routes": [route]}), token_counter=counter)


async def measure(call: Callable[[int], Awaitable[object]], count: int) -> list[float]:
    for n in range(min(count, 1000)):  # warm-up
        await call(n)
    timings = []
    for n in range(count):
        started = time.perf_counter_ns()
        await call(n)
        timings.append((time.perf_counter_ns() - started) / 1000)
    return timings


def report(label: str, timings: list[float]) -> None:
    ordered = sorted(timings)
    p50 = ordered[len(ordered) // 2]
    p99 = ordered[int(len(ordered) * 0.99)]
    print(
        f"{label:<52} p50 {p50:7.1f} us  p99 {p99:7.1f} us  mean {statistics.mean(timings):7.1f} us"
    )


def choosing(
    table: RoutingTable, hints: list[RoutingHints], facts: RequestFacts = NO_FACTS
) -> Callable[[int], Awaitable[object]]:
    return lambda n: table.choose(hints[n % len(hints)], facts)


async def bench_splits(count: int) -> None:
    for arms in (2, 5):
        table = split_table(arms)
        keyed = [RoutingHints(model="r", routing_key=f"user-{n}") for n in range(count)]
        report(f"split, {arms} arms, sticky key", await measure(choosing(table, keyed), count))
        unkeyed = [RoutingHints(model="r")]
        report(
            f"split, {arms} arms, no key (random)", await measure(choosing(table, unkeyed), count)
        )
    direct = [RoutingHints(model="model-0")]
    report(
        "model named directly (no route)", await measure(choosing(split_table(2), direct), count)
    )


async def bench_rules(count: int) -> None:
    request = ChatCompletionRequest(model="r", messages=MESSAGES)
    facts = request_facts(request)
    hints = [RoutingHints(model="r", tenant="acme", labels={"region": "us", "tier": "gold"})]
    plain = rules_table(token_rule=False)
    report(
        "rules, 5 rules, no token bound (default)",
        await measure(choosing(plain, hints, facts), count),
    )
    bounded = rules_table(token_rule=True, counter=KnownCount(400))
    report(
        "rules, 5 rules, token bound (count known)",
        await measure(choosing(bounded, hints, facts), count),
    )
    report("request facts from a chat request", await measure(_facts_of(request), count))

    counter = HuggingFaceTokenCounter({"tok": str(zoo_path("tiny-mistral"))})
    tokens = await counter.count("tok", facts)
    few = max(count // 10, 100)
    report(
        f"tokenization only ({tokens}-token chat, zoo tokenizer)",
        await measure(lambda n: counter.count("tok", facts), few),
    )
    real = rules_table(token_rule=True, counter=counter)
    report(
        "rules, token bound, real tokenization (total)",
        await measure(choosing(real, hints, facts), few),
    )


def _facts_of(request: ChatCompletionRequest) -> Callable[[int], Awaitable[object]]:
    async def build(n: int) -> object:
        return request_facts(request)

    return build


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=20_000)
    args = parser.parse_args()
    await bench_splits(args.decisions)
    await bench_rules(args.decisions)


if __name__ == "__main__":
    asyncio.run(main())
