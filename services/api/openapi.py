"""The request bodies in the OpenAPI document the HTTP API publishes (``/openapi.json``).

The completion handlers read the raw request, so that a bad body gets an OpenAI-style error
and a stream can start at once. FastAPI then cannot see their bodies; this adds them from the
router's request models, as FastAPI would have had the handlers declared them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from pydantic import BaseModel

REF_TEMPLATE = "#/components/schemas/{model}"


def with_request_bodies(spec: dict[str, Any], bodies: dict[str, type[BaseModel]]) -> dict[str, Any]:
    """``spec`` with each path's POST body described by its model."""
    components = spec.setdefault("components", {}).setdefault("schemas", {})
    for path, model in bodies.items():
        schema = model.model_json_schema(ref_template=REF_TEMPLATE)
        components.update(schema.pop("$defs", {}))
        components[model.__name__] = schema
        spec["paths"][path]["post"]["requestBody"] = {
            "required": True,
            "content": {
                "application/json": {"schema": {"$ref": REF_TEMPLATE.format(model=model.__name__)}}
            },
        }
    return spec


def publish_request_bodies(app: FastAPI, bodies: dict[str, type[BaseModel]]) -> None:
    """Make ``app``'s ``/openapi.json`` describe ``bodies`` (built once, on first use)."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            spec = get_openapi(title=app.title, version=app.version, routes=app.routes)
            app.openapi_schema = with_request_bodies(spec, bodies)
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
