"""/openapi.json describes the completion bodies the handlers read raw."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.testclient import TestClient

from services.api.openapi import publish_request_bodies
from services.router.requests import ChatCompletionRequest


def test_the_published_schema_describes_the_raw_body() -> None:
    app = FastAPI()

    @app.post("/v1/chat/completions")
    async def chat(request: Request) -> Response:
        return Response()

    publish_request_bodies(app, {"/v1/chat/completions": ChatCompletionRequest})
    spec = TestClient(app).get("/openapi.json").json()
    body = spec["paths"]["/v1/chat/completions"]["post"]["requestBody"]
    assert body["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChatCompletionRequest"
    }
    chat_schema = spec["components"]["schemas"]["ChatCompletionRequest"]
    assert {"model", "messages", "max_tokens", "stream"} <= set(chat_schema["properties"])
    refs = [ref for ref in _refs(spec) if ref.startswith("#/components/schemas/")]
    assert all(ref.rsplit("/", 1)[1] in spec["components"]["schemas"] for ref in refs)


def _refs(node: object) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [ref for value in node.values() for ref in _refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in _refs(value)]
    return []
