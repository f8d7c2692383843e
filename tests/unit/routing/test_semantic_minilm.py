"""The default threshold on the real all-MiniLM-L6-v2: held-out prompts reach the right place.

The embedder service's own model class, on both its backends.
"""

from __future__ import annotations

import random

import pytest

from services.embedder.examples import InProcessEmbedder
from services.embedder.model import SentenceEmbedder
from services.router.types import RequestFacts, RoutingHints
from services.routing.config import SemanticRouteConfig
from services.routing.policy import PolicyServices
from services.routing.semantic import SemanticPolicy

UTTERANCES = {
    "billing": [
        "I was charged twice this month",
        "How do I get a refund?",
        "Where can I download my invoice?",
        "Update the credit card on my account",
        "Why is my bill higher than usual?",
    ],
    "coding": [
        "Fix this Python function that throws a KeyError",
        "Write a SQL query that joins two tables",
        "Explain this stack trace",
        "How do I reverse a list in JavaScript?",
        "Refactor this code to be faster",
        "My program crashes with a segmentation fault",
        "Write a shell script that backs up a folder",
        "Why does my unit test fail?",
    ],
    "account": [
        "I forgot my password",
        "How do I enable two-factor authentication?",
        "My account is locked",
        "Change the email address on my profile",
        "I can't log in",
    ],
}
HELD_OUT = {
    "billing": [
        "Can you send me a copy of last month's receipt?",
        "There is an unexpected fee on my statement",
        "Cancel my subscription and refund the remaining days",
        "My payment failed, what should I do?",
    ],
    "coding": [
        "My Rust program panics with index out of bounds",
        "How can I speed up this pandas groupby?",
        "TypeError: cannot read properties of undefined",
    ],
    "account": [
        "Reset my login credentials please",
        "I lost my phone with the authenticator app",
        "Someone else signed into my account",
        "How do I change my username?",
        "Delete my account",
    ],
    "default": [
        "What is the capital of Australia?",
        "Write a poem about autumn leaves",
        "Recommend a good science fiction novel",
        "How many grams of protein are in an egg?",
        "Tell me a joke about cats",
        "Translate 'good morning' into French",
        "What's the weather like on Mars?",
    ],
}


@pytest.fixture(scope="module", params=["onnx-int8", "torch"])
def embedder(request: pytest.FixtureRequest) -> InProcessEmbedder:
    """Both backends the embedder deployment can run must route alike."""
    return InProcessEmbedder(SentenceEmbedder(backend=request.param))


async def test_held_out_prompts_reach_their_variant_at_the_default_threshold(
    embedder: InProcessEmbedder,
) -> None:
    route = SemanticRouteConfig(
        name="support",
        variants=[
            {"name": name, "model": f"{name}-model", "utterances": utterances}
            for name, utterances in UTTERANCES.items()
        ],
        default="general-model",
    )
    semantic = SemanticPolicy(route, PolicyServices(rng=random.Random(0), embedder=embedder))
    routed = {
        prompt: (await semantic.decide(RoutingHints("support"), RequestFacts(text=prompt)))
        for prompts in HELD_OUT.values()
        for prompt in prompts
    }
    wrong = {
        prompt: routed[prompt].reason
        for expected, prompts in HELD_OUT.items()
        for prompt in prompts
        if routed[prompt].variant != expected
    }
    assert wrong == {}
