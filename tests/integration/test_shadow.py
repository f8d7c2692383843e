"""Shadow traffic on the live cluster: copies go to a candidate, the caller sees only
the primary's answer, and the shadow's latency and tokens are counted."""

from __future__ import annotations

import time

import openai

from cluster.rollout import apply_routes
from services.routing.config import SplitRouteConfig, VariantConfig
from services.routing.shadow_config import ShadowConfig
from tests.integration.conftest import RunningCluster, router_stats

PRIMARY = "tiny-qwen2"
CANDIDATE = "tiny-mistral"
ROUTE = SplitRouteConfig(
    name="shadowed",
    variants=[VariantConfig(name="primary", model=PRIMARY)],
    shadow=ShadowConfig(model=CANDIDATE, fraction=1.0, max_in_flight=8),
)
PROMPTS = [f"shadow prompt number {n}" for n in range(4)]
GREEDY = {"max_tokens": 12, "temperature": 0.0}


def shadow_totals() -> dict:
    rows = [row for row in router_stats()["shadows"] if row["route"] == ROUTE.name]
    counters = ("requests", "errors", "prompt_tokens", "completion_tokens")
    return rows[0] if rows else dict.fromkeys(counters, 0)


def test_shadow_never_changes_the_answer_and_is_measured(
    cluster: RunningCluster, client: openai.OpenAI, restore_routes: None
) -> None:
    apply_routes(cluster.config.model_copy(update={"routes": [*cluster.config.routes, ROUTE]}))
    before = shadow_totals()

    for prompt in PROMPTS:
        routed = client.completions.with_raw_response.create(
            model=ROUTE.name, prompt=prompt, **GREEDY
        )
        direct = client.completions.create(model=PRIMARY, prompt=prompt, **GREEDY)
        assert routed.headers["x-fleet-model"] == PRIMARY
        assert routed.parse().choices[0].text == direct.choices[0].text

    deadline = time.monotonic() + 60
    while (totals := shadow_totals())["requests"] - before["requests"] < len(PROMPTS) or (
        totals["completion_tokens"] - before["completion_tokens"] < len(PROMPTS) * 12
    ):
        assert time.monotonic() < deadline, f"shadow copies not measured: {totals}"
        time.sleep(0.5)
    assert totals["errors"] == before["errors"]
    assert totals["mean_latency_ms"] > 0
    assert totals["prompt_tokens"] > before["prompt_tokens"]
