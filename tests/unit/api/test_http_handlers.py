"""The HTTP adapter on a plain FastAPI app, with the model deployments faked."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from services.api import http_handlers
from services.api.http_errors import install_error_handlers
from services.auth.access import AccessControl, Caller
from services.auth.config import TenantPolicy
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.guarding import Guardrails
from services.router.requests import ChatCompletionRequest
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable
from tests.unit.router.fakes import ScriptedBackend, chat_response


def make_client(
    backend: ScriptedBackend,
    access: AccessControl | None = None,
    guardrails: Guardrails | None = None,
    max_request_bytes: int = 1 << 20,
) -> TestClient:
    routing = RoutingTable(
        RoutingConfig.model_validate(
            {
                "routes": [{"name": "chat", "variants": [{"name": "only", "model": "alpha"}]}],
                "max_request_bytes": max_request_bytes,
            }
        )
    )
    catalog = ModelCatalog([ServedModel("alpha", "zoo:a", max_model_len=128)])
    router = Router(catalog, backend, routing=routing, access=access, guardrails=guardrails)
    app = FastAPI()
    install_error_handlers(app)

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return await http_handlers.chat_completions(router, request)

    @app.get("/v1/models")
    async def models(request: Request) -> Response:
        return http_handlers.list_models(router, request)

    @app.get("/v1/models/{name}")
    async def model(request: Request, name: str) -> Response:
        return http_handlers.model_card(router, request, name)

    return TestClient(app, raise_server_exceptions=False)


BODY = {"model": "alpha", "messages": [{"role": "user", "content": "hi"}]}


def test_unary_chat_returns_the_model_answer_and_route_headers() -> None:
    client = make_client(ScriptedBackend({"alpha": [chat_response("hello")]}))
    response = client.post("/v1/chat/completions", json=BODY)
    assert response.status_code == 200
    assert response.json()["choices"][0]["message"]["content"] == "hello"
    assert response.headers["x-fleet-model"] == "alpha"


def test_stream_is_server_sent_events() -> None:
    chunk = 'data: {"choices": []}\n\n'
    client = make_client(ScriptedBackend({"alpha": [[chunk], chunk]}))
    response = client.post("/v1/chat/completions", json={**BODY, "stream": True})
    assert response.headers["content-type"].startswith("text/event-stream")
    assert response.text == chunk + chunk + "data: [DONE]\n\n"


def test_failure_mid_stream_ends_with_one_error_event() -> None:
    chunk = 'data: {"choices": []}\n\n'
    client = make_client(ScriptedBackend({"alpha": [chunk, RuntimeError("replica died")]}))
    response = client.post("/v1/chat/completions", json={**BODY, "stream": True})
    assert response.status_code == 200
    events = [e for e in response.text.split("\n\n") if e]
    assert events[0] == chunk.strip()
    assert json.loads(events[1].removeprefix("data: "))["error"]["code"] == 500
    assert events[2] == "data: [DONE]"


@pytest.mark.parametrize(
    ("body", "status", "param"),
    [
        (b"{oops", 400, None),
        (b'"text"', 400, None),
        (json.dumps({"messages": BODY["messages"]}).encode(), 400, "model"),
        (json.dumps({**BODY, "max_tokens": -2}).encode(), 400, "max_tokens"),
        (json.dumps({**BODY, "temperature": -1}).encode(), 400, "temperature"),
        (json.dumps({**BODY, "messages": "hi"}).encode(), 400, "messages"),
        (json.dumps({**BODY, "model": "omega"}).encode(), 404, "model"),
    ],
)
def test_bad_requests_get_openai_error_bodies(body: bytes, status: int, param: str | None) -> None:
    client = make_client(ScriptedBackend({"alpha": [chat_response("never")]}))
    response = client.post("/v1/chat/completions", content=body)
    assert response.status_code == status
    error = response.json()["error"]
    assert error["code"] == status
    assert error["param"] == param
    assert error["message"]


def _chunked(body: bytes) -> Iterator[bytes]:
    """A body sent in pieces, without a Content-Length."""
    for start in range(0, len(body), 512):
        yield body[start : start + 512]


@pytest.mark.parametrize("chunked", [False, True])
def test_a_body_over_the_limit_is_413_before_the_model_is_called(chunked: bool) -> None:
    backend = ScriptedBackend({"alpha": [chat_response("never")]})
    client = make_client(backend, max_request_bytes=2048)
    body = json.dumps({**BODY, "user": "x" * 4096}).encode()
    response = client.post("/v1/chat/completions", content=_chunked(body) if chunked else body)
    assert response.status_code == 413
    error = response.json()["error"]
    assert (error["type"], error["limit_bytes"]) == ("request_too_large", "2048")
    assert backend.calls == []


def test_a_body_at_the_limit_is_served() -> None:
    body = json.dumps({**BODY, "user": "x" * 1024}).encode()
    client = make_client(
        ScriptedBackend({"alpha": [chat_response("hello")]}), max_request_bytes=len(body)
    )
    assert client.post("/v1/chat/completions", content=body).status_code == 200


def test_unexpected_exception_is_a_500_error_body() -> None:
    client = make_client(ScriptedBackend({"alpha": [RuntimeError("boom")]}))
    response = client.post("/v1/chat/completions", json=BODY)
    assert response.status_code == 500
    assert response.json()["error"]["type"] == "internal_error"


def test_models_lists_models_and_routes() -> None:
    client = make_client(ScriptedBackend({}))
    assert [m["id"] for m in client.get("/v1/models").json()["data"]] == ["alpha", "chat"]


def test_one_model_or_route_by_name() -> None:
    client = make_client(ScriptedBackend({}))
    assert client.get("/v1/models/alpha").json()["id"] == "alpha"
    assert client.get("/v1/models/chat").json()["metadata"]["route"] == "split"
    missing = client.get("/v1/models/omega")
    assert missing.status_code == 404
    assert "alpha, chat" in missing.json()["error"]["message"]


def test_routing_hints_carry_the_callers_tenant_and_labels_from_headers() -> None:
    headers = {
        "x-fleet-tenant": "acme",
        "X-Fleet-Label-Tier": "gold",
        "x-fleet-label-region": "eu",
        "x-fleet-label-": "ignored: no key",
        "x-other": "ignored",
    }
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/v1/chat/completions",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers.items()],
    }
    body = ChatCompletionRequest.model_validate(BODY)
    caller = Caller(tenant="proven", policy=TenantPolicy())
    hints = http_handlers.routing_hints(Request(scope), body, caller)
    assert (hints.model, hints.tenant) == ("alpha", "proven")
    assert hints.labels == {"tier": "gold", "region": "eu"}
