"""Routes on the live cluster: sticky A/B over HTTP and gRPC, and live weight changes."""

from __future__ import annotations

from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest

from cluster.rollout import RoutesOnlyError, apply_routes
from services.client import FleetClient
from tests.integration.conftest import AB_ROUTE, RunningCluster, model_replica_ids, openai_client

MESSAGES = [{"role": "user", "content": "Which replicas are healthy?"}]
VARIANT_MODEL = {v.name: v.model for v in AB_ROUTE.variants}


def http_variant(client: openai.OpenAI, key: str) -> tuple[str, str]:
    raw = client.chat.completions.with_raw_response.create(
        model=AB_ROUTE.name,
        messages=MESSAGES,
        max_tokens=2,
        extra_headers={"x-fleet-routing-key": key},
    )
    body = raw.parse()
    assert body.model_extra["fleet"]["route"] == AB_ROUTE.name
    assert raw.headers["x-fleet-route"] == AB_ROUTE.name
    assert body.model == raw.headers["x-fleet-model"]
    return raw.headers["x-fleet-variant"], body.model


def test_keyed_requests_are_sticky_and_use_both_arms(client: openai.OpenAI) -> None:
    seen = Counter()
    for n in range(24):
        key = f"user-{n}"
        variant, model = http_variant(client, key)
        assert http_variant(client, key) == (variant, model)
        assert VARIANT_MODEL[variant] == model
        seen[variant] += 1
    assert set(seen) == {"control", "treatment"}


def test_grpc_and_http_agree_on_a_keys_variant(
    client: openai.OpenAI, grpc_client: FleetClient
) -> None:
    for n in range(8):
        key = f"tenant-user-{n}"
        answer = grpc_client.generate(
            model=AB_ROUTE.name, prompt="hello", max_tokens=2, routing_key=key
        )
        assert answer.route.route == AB_ROUTE.name
        assert "sticky" in answer.route.reason
        assert (answer.route.variant, answer.route.model) == http_variant(client, key)


def test_aliases_are_listed_as_models(client: openai.OpenAI) -> None:
    assert AB_ROUTE.name in {model.id for model in client.models.list()}
    card = client.models.retrieve(AB_ROUTE.name)
    assert card.model_extra["metadata"]["fallbacks"] == AB_ROUTE.fallbacks


def test_live_weight_change_fails_no_stream_and_restarts_no_model(
    cluster: RunningCluster, restore_routes: None
) -> None:
    replicas_before = model_replica_ids()

    def stream(n: int) -> int:
        with openai_client(cluster) as c:
            chunks = c.completions.create(
                model=AB_ROUTE.name,
                prompt="status",
                max_tokens=600,
                stream=True,
                stream_options={"include_usage": True},
                extra_headers={"x-fleet-routing-key": f"stream-{n}"},
                # A random-weight model may sample its end token early: only a cut stream
                # may come up short.
                extra_body={"ignore_eos": True},
            )
            return next(chunk.usage.completion_tokens for chunk in chunks if chunk.usage)

    all_treatment = cluster.config.model_copy(
        update={
            "routes": [
                AB_ROUTE.model_copy(
                    update={
                        "variants": [
                            AB_ROUTE.variants[0].model_copy(update={"weight": 0}),
                            AB_ROUTE.variants[1].model_copy(update={"weight": 100}),
                        ]
                    }
                )
            ]
        }
    )
    with ThreadPoolExecutor(max_workers=6) as pool:
        in_flight = [pool.submit(stream, n) for n in range(6)]
        apply_routes(all_treatment)
        assert [future.result() for future in in_flight] == [600] * 6

    with openai_client(cluster) as c:
        variants = {http_variant(c, f"user-{n}")[0] for n in range(12)}
    assert variants == {"treatment"}
    assert model_replica_ids() == replicas_before


def test_applying_routes_refuses_a_config_that_changes_more(cluster: RunningCluster) -> None:
    slower = cluster.config.model_copy(
        update={"router": cluster.config.router.model_copy(update={"request_timeout_s": 123})}
    )
    with pytest.raises(RoutesOnlyError):
        apply_routes(slower)


def test_grpc_lists_routes_and_each_models_aliases(grpc_client: FleetClient) -> None:
    models = {model.id: model for model in grpc_client.list_models()}
    assert AB_ROUTE.name in models
    for variant in AB_ROUTE.variants:
        assert AB_ROUTE.name in models[variant.model].aliases
    assert AB_ROUTE.name not in models[AB_ROUTE.fallbacks[0]].aliases
