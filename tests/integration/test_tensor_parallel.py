"""Tensor parallelism: the tiny Mixtral sharded over 2 workers answers as the unsharded one.

Float32 keeps the reduction order of TP from flipping near-tied greedy tokens
(see PLATFORM.md), so the texts must match exactly.
"""

from __future__ import annotations

import openai

from tests.integration.conftest import TP2_MODEL

LONG_GREEDY = {"temperature": 0.0, "seed": 0, "max_tokens": 48, "extra_body": {"ignore_eos": True}}


def test_tp2_mixtral_matches_tp1(client: openai.OpenAI) -> None:
    prompt = "All replicas of the cluster report"
    tp1 = client.completions.create(model="tiny-mixtral", prompt=prompt, **LONG_GREEDY)
    tp2 = client.completions.create(model=TP2_MODEL, prompt=prompt, **LONG_GREEDY)
    assert tp1.usage.completion_tokens == 48
    assert tp2.choices[0].text == tp1.choices[0].text


def test_tp2_model_reports_its_sharding(client: openai.OpenAI) -> None:
    card = client.models.retrieve(TP2_MODEL)
    assert card.model_extra["metadata"]["tensor_parallel_size"] == 2
