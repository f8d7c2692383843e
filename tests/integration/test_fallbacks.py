"""Fallback chains and circuit breakers on the live cluster: a model deployment is
added, then deleted while requests keep coming, and the route's fallback takes over."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import openai
import pytest
from ray import serve

from cluster.config import ClusterConfig
from cluster.config.schema import deployment_name
from cluster.launcher import deploy
from services.routing.config import SplitRouteConfig, VariantConfig
from tests.integration.conftest import (
    RunningCluster,
    model_replica_ids,
    openai_client,
    router_stats,
)

DOOMED = "tiny-llama"
FALLBACK = "tiny-qwen2"
ROUTE = SplitRouteConfig(
    name="doomed-first",
    variants=[VariantConfig(name="only", model=DOOMED)],
    fallbacks=[FALLBACK],
)


@pytest.fixture(scope="module")
def with_doomed_model(cluster: RunningCluster) -> Iterator[set[str]]:
    """The session cluster plus one more model; yields the replicas that ran before."""
    before = model_replica_ids()
    engine = cluster.config.model("tiny-mistral").engine
    doomed = cluster.config.model("tiny-mistral").model_copy(
        update={"name": DOOMED, "source": f"zoo:{DOOMED}", "engine": engine}
    )
    grown: ClusterConfig = cluster.config.model_copy(
        update={
            "models": [*cluster.config.models, doomed],
            "routes": [*cluster.config.routes, ROUTE],
            # A request caught queued on the deleted deployment waits this long at most
            # (ample for a live model even on a loaded 2-core machine).
            "router": cluster.config.router.model_copy(update={"first_token_timeout_s": 10}),
        }
    )
    deploy(grown, timeout_s=600)
    _wait_until_it_answers(cluster, DOOMED)
    try:
        yield before
    finally:
        deploy(cluster.config, timeout_s=600)


def _wait_until_it_answers(cluster: RunningCluster, model: str, timeout_s: float = 180) -> None:
    """A new engine's first answers can be slow while the machine is busy; the test needs
    the model answering as the route's first choice."""
    client = openai_client(cluster)
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            client.with_options(timeout=60).completions.create(
                model=model, prompt="warm-up", max_tokens=2
            )
            return
        except openai.APIError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def ask(client: openai.OpenAI) -> tuple[str, str]:
    raw = client.with_options(timeout=30).completions.with_raw_response.create(
        model=ROUTE.name, prompt="hi", max_tokens=2
    )
    return raw.headers["x-fleet-model"], raw.headers["x-fleet-reason"]


def test_adding_a_model_restarts_no_other(with_doomed_model: set[str]) -> None:
    assert with_doomed_model < model_replica_ids()


def test_fallback_takes_over_when_the_model_is_deleted(
    client: openai.OpenAI, with_doomed_model: set[str]
) -> None:
    assert ask(client)[0] == DOOMED
    answers: list[tuple[str, str]] = []
    errors: list[Exception] = []
    stop = threading.Event()

    def keep_asking() -> None:
        while not stop.is_set():
            try:
                answers.append(ask(client))
            except Exception as error:  # recorded: the test fails on any
                errors.append(error)

    asker = threading.Thread(target=keep_asking)
    asker.start()
    try:
        time.sleep(1)
        serve.delete(deployment_name(DOOMED))
        served_before_delete = len(answers)
        time.sleep(14)
    finally:
        stop.set()
        asker.join(timeout=60)

    assert errors == []
    assert served_before_delete > 0
    after = answers[served_before_delete + 1 :]
    assert after, "no request was answered after the deletion"
    assert {model for model, _ in after} == {FALLBACK}
    reasons = [reason for _, reason in after]
    assert any(reason.startswith("fallback after") for reason in reasons)
    # Once the circuit is open the dead model is skipped, not tried on every request.
    assert "circuit open" in reasons[-1]

    routes = {(row["route"], row["model"]): row for row in router_stats()["routes"]}
    assert routes[(ROUTE.name, FALLBACK)]["fallbacks"] > 0
