"""A model with no running replica on a live node is skipped at once, never waited for."""

import asyncio

import pytest

from services.errors import RetryableError
from services.router.availability import (
    ModelAvailability,
    unreachable_models,
    watch_availability,
)
from services.router.core import Router
from services.router.types import RoutingHints
from tests.unit.router.fakes import ScriptedBackend, chat_response
from tests.unit.router.test_core import CATALOG, ROUTED, chat

APPS = {"alpha": "model-alpha"}


def _details(status: str, *replicas: tuple[str, str], message: str = "") -> dict:
    deployment = {
        "status": status,
        "message": message,
        "replicas": [
            {"state": state, "node_id": node, "node_ip": f"ip-{node}" if node else None}
            for state, node in replicas
        ],
    }
    return {"applications": {"model-alpha": {"deployments": {"model-alpha": deployment}}}}


@pytest.mark.parametrize(
    ("details", "expected"),
    [
        (_details("HEALTHY", ("RUNNING", "n1")), None),
        (_details("HEALTHY", ("RUNNING", "dead")), "no running replica: node ip-dead is down"),
        (_details("HEALTHY", ("RUNNING", "dead"), ("RUNNING", "n1")), None),
        (
            _details("UNHEALTHY", ("STARTING", ""), message="A replica's health check failed. x"),
            "no healthy replica (A replica's health check failed)",
        ),
        # Scaled to zero or starting up: the request waits for Serve to start a replica.
        (_details("HEALTHY"), None),
        (_details("UPSCALING", ("STARTING", "")), None),
        ({"applications": {}}, None),
    ],
)
def test_unreachable_models(details: dict, expected: str | None) -> None:
    assert unreachable_models(details, {"n1"}, APPS).get("alpha") == expected


async def test_an_unreachable_model_is_skipped_for_its_fallback() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("a")], "beta": [chat_response("b")]})
    availability = ModelAvailability()
    availability.update({"alpha": "no running replica: node x is down"})
    router = Router(CATALOG, backend, routing=ROUTED, availability=availability)
    result = await router.generate(chat("chat"), RoutingHints(model="chat"))
    assert result.decision.model == "beta"
    assert "alpha (no running replica: node x is down)" in result.decision.reason
    assert [call[0] for call in backend.calls] == ["beta"]


async def test_an_unreachable_model_named_directly_fails_at_once() -> None:
    availability = ModelAvailability()
    availability.update({"alpha": "no healthy replica"})
    router = Router(CATALOG, ScriptedBackend({}), availability=availability)
    with pytest.raises(RetryableError, match="model 'alpha' is unavailable: no healthy replica"):
        await router.generate(chat("alpha"), RoutingHints(model="alpha"))


async def test_the_watch_reports_each_loss_once_and_recovers() -> None:
    views = [
        (_details("HEALTHY", ("RUNNING", "dead")), {"n1"}),
        (_details("UNHEALTHY", ("STARTING", "")), {"n1"}),
        (_details("HEALTHY", ("RUNNING", "n1")), {"n1"}),
    ]
    lost: list[str] = []
    availability = ModelAvailability()

    async def fetch() -> tuple[dict, set[str]]:
        if not views:
            await asyncio.sleep(3600)
        return views.pop(0)

    watch = asyncio.create_task(
        watch_availability(
            availability, lambda: APPS, lambda m, why: lost.append(m), period_s=0, fetch=fetch
        )
    )
    while views:
        await asyncio.sleep(0)
    await asyncio.sleep(0)
    watch.cancel()
    assert lost == ["alpha"]
    assert availability.reason("alpha") is None
