"""API keys through the gRPC adapter: the ``authorization`` metadata entry, and the status
codes a refusal sets."""

import json
from pathlib import Path

import grpc
import pytest
from fleet.v1 import fleet_pb2

from services.api import grpc_handlers
from services.api.grpc_status import ERROR_PARAM_KEY, ERROR_TYPE_KEY
from services.auth.access import GUARD_POLICY_HEADER, INVALID_KEY, AccessControl, KeyRing
from services.auth.config import AuthConfig, TenantPolicy
from services.auth.keys import ApiKey, issue_key
from services.auth.store import KeyStore, by_key_id
from services.guardrails.config import GuardrailsConfig
from services.guardrails.policies import GuardPolicies
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.guarding import Guardrails
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable
from tests.unit.api.test_grpc_status import RecordingContext
from tests.unit.router.fakes import ScriptedBackend


class CallContext(RecordingContext):
    """Ray Serve's gRPC context as the handlers use it: a status and the caller's metadata."""

    def __init__(self, metadata: list[tuple[str, str]] | None = None) -> None:
        super().__init__()
        self.metadata = metadata or []

    def invocation_metadata(self) -> list[tuple[str, str]]:
        return list(self.metadata)


def sse(payload: dict) -> str:
    return f"data: {json.dumps(payload)}\n\n"


def chunk(content: str, finish_reason: str | None = None) -> str:
    return sse(
        {
            "id": "chatcmpl-1",
            "object": "chat.completion.chunk",
            "model": "alpha",
            "choices": [
                {"index": 0, "delta": {"content": content}, "finish_reason": finish_reason}
            ],
        }
    )


USAGE = sse(
    {
        "id": "chatcmpl-1",
        "object": "chat.completion.chunk",
        "model": "alpha",
        "choices": [],
        "usage": {"prompt_tokens": 3, "completion_tokens": 2, "total_tokens": 5},
    }
)
STREAM = [chunk("Hel"), [chunk("lo"), chunk("", "stop")], USAGE, "data: [DONE]\n\n"]

CONFIG = AuthConfig(
    tenants={
        "limited": TenantPolicy(models=["chat"]),
        "gateway": TenantPolicy(),
        "careful": TenantPolicy(guard_policies=["no-hi"]),
    },
    trusted_upstreams=["gateway"],
)
# Bound to nothing: it runs only when a request asks for it (the prompt says "hi").
GUARDS = GuardrailsConfig.model_validate(
    {"policies": [{"name": "no-hi", "checks": [{"type": "keywords", "words": ["hi"]}]}]}
)


class Setup:
    def __init__(self, tmp_path: Path) -> None:
        store = KeyStore(tmp_path / "keys.json")
        self.acme, _ = store.create(tenant="acme")
        self.limited, _ = store.create(tenant="limited")
        self.gateway, _ = store.create(tenant="gateway")
        self.careful, _ = store.create(tenant="careful")
        access = AccessControl(CONFIG, KeyRing(by_key_id(store.records())))
        routing = RoutingTable(
            RoutingConfig.model_validate(
                {"routes": [{"name": "chat", "variants": [{"name": "only", "model": "alpha"}]}]}
            )
        )
        catalog = ModelCatalog([ServedModel("alpha", "zoo:a", max_model_len=128)])
        self.backend = ScriptedBackend({"alpha": STREAM})
        self.router = Router(
            catalog,
            self.backend,
            routing=routing,
            access=access,
            guardrails=Guardrails(GuardPolicies(GUARDS)),
        )


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


def with_key(key: ApiKey, *extra: tuple[str, str]) -> CallContext:
    return CallContext([("authorization", f"Bearer {key.token}"), *extra])


def generate_request(model: str = "alpha", tenant: str = "") -> fleet_pb2.GenerateRequest:
    return fleet_pb2.GenerateRequest(
        routing=fleet_pb2.RoutingHints(model=model, tenant=tenant),
        chat=fleet_pb2.ChatInput(messages=[fleet_pb2.ChatMessage(role="user", content="hi")]),
        request_id="req-1",
    )


async def test_no_metadata_is_unauthenticated_with_an_empty_response(setup: Setup) -> None:
    context = CallContext()

    response = await grpc_handlers.generate(setup.router, generate_request(), context)

    assert context.code is grpc.StatusCode.UNAUTHENTICATED
    assert response == fleet_pb2.GenerateResponse()
    assert dict(context.trailing_metadata)[ERROR_TYPE_KEY] == "authentication_error"
    assert setup.backend.calls == []


async def test_an_unknown_key_is_unauthenticated_without_echoing_it(setup: Setup) -> None:
    key = issue_key()
    context = with_key(key)

    response = await grpc_handlers.generate(setup.router, generate_request(), context)

    assert context.code is grpc.StatusCode.UNAUTHENTICATED
    assert context.details == INVALID_KEY
    assert key.secret not in context.details
    assert response == fleet_pb2.GenerateResponse()


async def test_a_restricted_tenant_naming_a_forbidden_model_is_permission_denied(
    setup: Setup,
) -> None:
    context = with_key(setup.limited)

    response = await grpc_handlers.generate(setup.router, generate_request("alpha"), context)

    assert context.code is grpc.StatusCode.PERMISSION_DENIED
    assert context.details.endswith("it may use: chat")
    metadata = dict(context.trailing_metadata)
    assert (metadata[ERROR_TYPE_KEY], metadata[ERROR_PARAM_KEY]) == ("permission_denied", "model")
    assert response == fleet_pb2.GenerateResponse()
    assert setup.backend.calls == []


async def test_a_claimed_tenant_in_routing_hints_is_ignored_for_an_ordinary_tenant(
    setup: Setup,
) -> None:
    context = with_key(setup.limited)

    await grpc_handlers.generate(setup.router, generate_request("alpha", tenant="acme"), context)

    assert context.code is grpc.StatusCode.PERMISSION_DENIED


async def test_a_trusted_upstream_acts_for_the_claimed_tenant(setup: Setup) -> None:
    context = with_key(setup.gateway)

    await grpc_handlers.generate(setup.router, generate_request("alpha", tenant="limited"), context)

    assert context.code is grpc.StatusCode.PERMISSION_DENIED
    assert context.details.endswith("it may use: chat")


async def test_a_valid_key_generates(setup: Setup) -> None:
    context = with_key(setup.acme)

    response = await grpc_handlers.generate(setup.router, generate_request(), context)

    assert context.code is None
    assert response.text == "Hello"
    assert response.finish_reason == fleet_pb2.FINISH_REASON_STOP
    assert response.usage.total_tokens == 5
    assert response.route.model == "alpha"
    assert response.request_id == "req-1"
    assert [model for model, _, _ in setup.backend.calls] == ["alpha"]


async def test_a_restricted_tenant_may_call_its_route(setup: Setup) -> None:
    context = with_key(setup.limited)

    response = await grpc_handlers.generate(setup.router, generate_request("chat"), context)

    assert context.code is None
    assert response.text == "Hello"
    assert (response.route.model, response.route.route) == ("alpha", "chat")


async def test_generate_stream_without_a_key_ends_unauthenticated(setup: Setup) -> None:
    context = CallContext()
    request = generate_request()
    request.request_id = "r-17"

    events = [e async for e in grpc_handlers.generate_stream(setup.router, request, context)]

    # A bare StreamEnd carries the status's trailing metadata through Ray's proxy.
    assert [e.WhichOneof("event") for e in events] == ["end"]
    assert events[0].end.request_id == "r-17"
    assert events[0].end.finish_reason == fleet_pb2.FINISH_REASON_UNSPECIFIED
    assert context.code is grpc.StatusCode.UNAUTHENTICATED
    assert dict(context.trailing_metadata)[ERROR_TYPE_KEY] == "authentication_error"


def test_list_models_needs_a_key(setup: Setup) -> None:
    context = CallContext()

    response = grpc_handlers.list_models(setup.router, fleet_pb2.ListModelsRequest(), context)

    assert context.code is grpc.StatusCode.UNAUTHENTICATED
    assert response == fleet_pb2.ListModelsResponse()


async def test_a_guard_policy_the_tenant_may_ask_for_runs_when_the_metadata_asks(
    setup: Setup,
) -> None:
    asked = with_key(setup.careful, (GUARD_POLICY_HEADER, "no-hi"))
    plain = with_key(setup.careful)

    await grpc_handlers.generate(setup.router, generate_request(), asked)
    answered = await grpc_handlers.generate(setup.router, generate_request(), plain)

    assert asked.code is grpc.StatusCode.INVALID_ARGUMENT
    assert dict(asked.trailing_metadata)[ERROR_TYPE_KEY] == "guardrail_violation"
    assert plain.code is None and answered.text == "Hello"
    assert len(setup.backend.calls) == 1  # the blocked prompt reached no model


async def test_asking_for_a_guard_policy_the_tenant_may_not_is_permission_denied(
    setup: Setup,
) -> None:
    context = with_key(setup.acme, (GUARD_POLICY_HEADER, "no-hi"))

    response = await grpc_handlers.generate(setup.router, generate_request(), context)

    assert context.code is grpc.StatusCode.PERMISSION_DENIED
    metadata = dict(context.trailing_metadata)
    assert (metadata[ERROR_TYPE_KEY], metadata[ERROR_PARAM_KEY]) == (
        "permission_denied",
        GUARD_POLICY_HEADER,
    )
    assert response == fleet_pb2.GenerateResponse()
    assert setup.backend.calls == []


def test_list_models_shows_a_restricted_tenant_only_its_names(setup: Setup) -> None:
    limited = grpc_handlers.list_models(
        setup.router, fleet_pb2.ListModelsRequest(), with_key(setup.limited)
    )
    everything = grpc_handlers.list_models(
        setup.router, fleet_pb2.ListModelsRequest(), with_key(setup.acme)
    )

    assert [model.id for model in limited.models] == ["chat"]
    assert [model.id for model in everything.models] == ["alpha", "chat"]
    assert list(everything.models[0].aliases) == ["chat"]
