"""Cost of one routing decision (target: under 50 us, tokenization and embedding excluded).

``RoutingTable.choose`` is the whole decision the router makes per request: a sticky A/B/n
split with and without a routing key, and a rules route with and without a prompt-length
rule. Prompt-length rules are timed with a counter that already knows the answer (the
decision alone), then with the zoo's real tokenizer, alone and inside the decision.
"""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import Callable, Coroutine
from typing import Any

import pytest
from pytest_benchmark.fixture import BenchmarkFixture

from cluster.zoo import zoo_path
from services.router.facts import request_facts
from services.router.requests import ChatCompletionRequest
from services.router.types import RequestFacts, RoutingHints
from services.routing.config import RoutingConfig
from services.routing.table import RouteChoice, RoutingTable
from services.routing.tokens import HuggingFaceTokenCounter, TokenCounter

MESSAGES = [
    {"role": "system", "content": "You are the on-call assistant of the platform team."},
    {"role": "user", "content": "Summarise the incident report below in three bullets. " * 20},
]
# The rules requests match none of the first four rules, so every decision walks all five.
HINTS = RoutingHints(model="r", tenant="acme", labels={"region": "us", "tier": "gold"})
KEYS = 1000
NO_FACTS = RequestFacts()  # built once: building it per call would be timed too

Drive = Callable[[Coroutine[Any, Any, Any]], Any]  # the `drive` fixture of conftest.py


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


def rules_table(*, token_rule: bool, counter: TokenCounter | None = None) -> RoutingTable:
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


@pytest.fixture(scope="module")
def request_() -> ChatCompletionRequest:
    return ChatCompletionRequest(model="r", messages=MESSAGES)


@pytest.fixture(scope="module")
def facts(request_: ChatCompletionRequest) -> RequestFacts:
    return request_facts(request_)


@pytest.fixture(scope="module")
def tokenizer(loop: asyncio.AbstractEventLoop, facts: RequestFacts) -> HuggingFaceTokenCounter:
    counter = HuggingFaceTokenCounter({"tok": str(zoo_path("tiny-mistral"))})
    # Loading takes ~1 s; in the first timed call it would throw the calibration off.
    loop.run_until_complete(counter.count("tok", facts))
    return counter


@pytest.mark.benchmark(group="routing: split")
@pytest.mark.parametrize("arms", [2, 5])
def test_split_sticky_key(benchmark: BenchmarkFixture, drive: Drive, arms: int) -> None:
    table = split_table(arms)
    keyed = itertools.cycle([RoutingHints(model="r", routing_key=f"user-{n}") for n in range(KEYS)])
    choice = benchmark(lambda: drive(table.choose(next(keyed), NO_FACTS)))
    models = {f"model-{n}" for n in range(arms)}
    assert choice.decision.model in models
    assert choice.decision.route == "r"
    # Sticky: the same key lands on the same arm every time.
    again = RoutingHints(model="r", routing_key="user-7")
    assert len({drive(table.choose(again, NO_FACTS)).decision.model for _ in range(20)}) == 1


@pytest.mark.benchmark(group="routing: split")
@pytest.mark.parametrize("arms", [2, 5])
def test_split_no_key(benchmark: BenchmarkFixture, drive: Drive, arms: int) -> None:
    table = split_table(arms)
    hints = RoutingHints(model="r")
    choice = benchmark(lambda: drive(table.choose(hints, NO_FACTS)))
    assert choice.decision.model in {f"model-{n}" for n in range(arms)}


@pytest.mark.benchmark(group="routing: split")
def test_model_named_directly(benchmark: BenchmarkFixture, drive: Drive) -> None:
    table = split_table(2)
    hints = RoutingHints(model="model-0")
    # None: the request names a model, not a route, and goes to it as named.
    assert benchmark(lambda: drive(table.choose(hints, NO_FACTS))) is None


@pytest.mark.benchmark(group="routing: rules")
def test_rules_no_token_bound(
    benchmark: BenchmarkFixture, drive: Drive, facts: RequestFacts
) -> None:
    table = rules_table(token_rule=False)
    choice: RouteChoice = benchmark(lambda: drive(table.choose(HINTS, facts)))
    assert choice.decision.model == "m0"  # no rule matched: the default


@pytest.mark.benchmark(group="routing: rules")
def test_rules_token_bound_known_count(
    benchmark: BenchmarkFixture, drive: Drive, facts: RequestFacts
) -> None:
    table = rules_table(token_rule=True, counter=KnownCount(400))
    choice: RouteChoice = benchmark(lambda: drive(table.choose(HINTS, facts)))
    assert choice.decision.model == "m5"


@pytest.mark.benchmark(group="routing: rules")
def test_request_facts(benchmark: BenchmarkFixture, request_: ChatCompletionRequest) -> None:
    facts: RequestFacts = benchmark(request_facts, request_)
    assert facts.is_chat and MESSAGES[1]["content"] in facts.text


@pytest.mark.benchmark(group="routing: tokenization")
def test_tokenization_only(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    tokenizer: HuggingFaceTokenCounter,
    facts: RequestFacts,
) -> None:
    # The count hops to the tokenizer's worker thread, so it needs the real loop.
    tokens = benchmark(lambda: loop.run_until_complete(tokenizer.count("tok", facts)))
    assert tokens > 200  # ~700 tokens with tiny-mistral's tokenizer


@pytest.mark.benchmark(group="routing: tokenization")
def test_rules_token_bound_real_tokenization(
    benchmark: BenchmarkFixture,
    loop: asyncio.AbstractEventLoop,
    tokenizer: HuggingFaceTokenCounter,
    facts: RequestFacts,
) -> None:
    table = rules_table(token_rule=True, counter=tokenizer)
    choice: RouteChoice = benchmark(lambda: loop.run_until_complete(table.choose(HINTS, facts)))
    assert choice.decision.model == "m5"
