"""Semantic routes on a deterministic keyword embedder: nearest variant, threshold, caching."""

from __future__ import annotations

import asyncio
import random

import pytest

from services.errors import ServerError
from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.config import SemanticRouteConfig
from services.routing.policy import PolicyServices
from services.routing.semantic import SemanticPolicy
from tests.unit.routing.fakes import KeywordEmbedder

ROUTE = SemanticRouteConfig.model_validate(
    {
        "name": "support",
        "variants": [
            {
                "name": "billing",
                "model": "billing-model",
                "utterances": ["invoice missing", "refund please", "invoice refund"],
            },
            {"name": "account", "model": "account-model", "utterances": ["password login"]},
        ],
        "threshold": 0.6,
        "default": "general-model",
    }
)


def policy(embedder: object) -> SemanticPolicy:
    return SemanticPolicy(ROUTE, PolicyServices(rng=random.Random(0), embedder=embedder))


async def decide(semantic: SemanticPolicy, text: str) -> RouteDecision:
    return await semantic.decide(RoutingHints(model="support"), RequestFacts(text=text))


@pytest.mark.parametrize(
    ("text", "model", "variant", "similarity"),
    [
        ("where is my invoice", "billing-model", "billing", "1.00"),
        ("I want a refund", "billing-model", "billing", "1.00"),
        ("forgot my password", "account-model", "account", "0.71"),
    ],
)
async def test_the_variant_with_the_nearest_utterance_wins(
    text: str, model: str, variant: str, similarity: str
) -> None:
    decision = await decide(policy(KeywordEmbedder()), text)
    assert (decision.model, decision.route, decision.variant) == (model, "support", variant)
    assert decision.reason == f"semantic: nearest '{variant}' (similarity {similarity} >= 0.60)"


async def test_below_the_threshold_the_default_answers() -> None:
    # "login error" is 0.5 from "password login" (half its keywords): close, not enough.
    decision = await decide(policy(KeywordEmbedder()), "login error")
    assert (decision.model, decision.variant) == ("general-model", "default")
    assert decision.reason == "semantic: nearest 'account' (similarity 0.50 < 0.60), default"


async def test_a_prompt_without_text_takes_the_default_without_embedding() -> None:
    embedder = KeywordEmbedder()
    decision = await decide(policy(embedder), "   ")
    assert (decision.variant, decision.reason) == ("default", "semantic: no prompt text")
    assert embedder.calls == []


async def test_utterances_are_embedded_once_even_under_concurrent_first_calls() -> None:
    embedder = KeywordEmbedder(delay_s=0.01)
    semantic = policy(embedder)
    texts = ["invoice", "password", "refund", "login"] * 5
    decisions = await asyncio.gather(*(decide(semantic, text) for text in texts))
    assert {d.variant for d in decisions} == {"billing", "account"}
    utterance_batches = [batch for batch in embedder.calls if len(batch) > 1]
    assert utterance_batches == [
        ["invoice missing", "refund please", "invoice refund", "password login"]
    ]
    assert len(embedder.calls) == 1 + len(texts)  # then one prompt per decision


class BrokenEmbedder:
    async def embed(self, texts: list[str]) -> list[list[float]]:
        return [[1.0, 0.0]]  # one vector whatever it is asked


async def test_an_embedder_answering_the_wrong_shape_is_a_server_error() -> None:
    with pytest.raises(ServerError, match=r"returned \(1, 2\) for 4 texts"):
        await decide(policy(BrokenEmbedder()), "invoice")
