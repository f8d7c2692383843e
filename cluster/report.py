"""`fleet status`: what a running cluster serves, per model and per route.

Built from Serve's own details (replicas, their states and nodes, the running scaling
settings and builder arguments) plus the router's live view (routes and weights, model
calls in flight).
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from cluster.config.lora import adapter_model_name
from cluster.config.schema import ClusterConfig, ModelConfig
from cluster.models.llm_config import placement_bundles
from cluster.serve_config import MODEL_IMPORT_PATH
from cluster.status import APP_NAME, EMBEDDER_APP, ROUTER_DEPLOYMENT

_STARTING = {"STARTING", "UPDATING", "RECOVERING", "PENDING_MIGRATION"}
_BROKEN = {"UNHEALTHY", "DEPLOY_FAILED"}


@dataclass(frozen=True)
class Replicas:
    target: int
    running: int = 0
    starting: int = 0
    stopping: int = 0
    failed: int = 0
    """Replicas the deployment targets but cannot run (its status is unhealthy)."""


@dataclass(frozen=True)
class ModelStatus:
    name: str
    status: str
    replicas: Replicas
    scaling: dict[str, Any]
    """``{"mode": "fixed", "replicas": N}`` or ``{"mode": "autoscaling", ...bounds}``."""
    tensor_parallel_size: int
    resources_per_replica: dict[str, float]
    nodes: list[str]
    ongoing_requests: int | None
    """Calls the router replicas have in flight to this model; None if they did not answer."""
    message: str = ""
    adapters: list[str] = field(default_factory=list)
    """The LoRA adapters its replicas serve, as callers name them (``<model>:<adapter>``)."""


@dataclass(frozen=True)
class ServiceStatus:
    """The router or the embedder."""

    name: str
    status: str
    replicas: Replicas


@dataclass(frozen=True)
class FleetStatus:
    status: str
    models: list[ModelStatus]
    services: list[ServiceStatus]
    routes: list[dict[str, Any]] = field(default_factory=list)
    """The routes the router applies now (``RouteConfig`` dicts: weights included)."""


def _plain(status: Any) -> str:
    """Serve's details hold its status enums; operators read their names."""
    return str(getattr(status, "value", status))


def replica_counts(deployment: dict[str, Any]) -> Replicas:
    states = Counter(replica["state"] for replica in deployment.get("replicas", []))
    target = deployment.get("target_num_replicas", 0)
    running = states["RUNNING"]
    starting = sum(states[state] for state in _STARTING)
    broken = deployment.get("status") in _BROKEN
    return Replicas(
        target=target,
        running=running,
        starting=starting,
        stopping=states["STOPPING"],
        failed=max(target - running - starting, 0) if broken else 0,
    )


def scaling_of(override: dict[str, Any]) -> dict[str, Any]:
    autoscaling = override.get("autoscaling_config")
    if autoscaling:
        keys = (
            "min_replicas",
            "max_replicas",
            "target_ongoing_requests",
            "upscale_delay_s",
            "downscale_delay_s",
        )
        return {"mode": "autoscaling", **{key: autoscaling.get(key) for key in keys}}
    return {"mode": "fixed", "replicas": override.get("num_replicas") or 1}


def resources_per_replica(args: dict[str, Any]) -> tuple[int, dict[str, float]]:
    """A model's tensor-parallel size and the Ray resources one replica reserves."""
    model = ModelConfig.model_validate(args["model"])
    cluster = ClusterConfig(device=args["device"], models=[model])
    total: Counter[str] = Counter()
    for bundle in placement_bundles(model, cluster):
        total.update(bundle)
    return model.engine.tensor_parallel_size, dict(sorted(total.items()))


def model_status(application: dict[str, Any], ongoing: dict[str, int] | None) -> ModelStatus | None:
    """None for an application that is not a model."""
    config = application.get("deployed_app_config") or {}
    if config.get("import_path") != MODEL_IMPORT_PATH:
        return None
    name = config["args"]["model"]["name"]
    app_name = config["name"]
    deployment = (application.get("deployments") or {}).get(app_name, {})
    override = next(iter(config.get("deployments") or []), {})
    tensor_parallel_size, resources = resources_per_replica(config["args"])
    return ModelStatus(
        name=name,
        status=_plain(deployment.get("status", application.get("status", "UNKNOWN"))),
        replicas=replica_counts(deployment),
        scaling=scaling_of(override),
        tensor_parallel_size=tensor_parallel_size,
        resources_per_replica=resources,
        nodes=sorted({r["node_ip"] for r in deployment.get("replicas", []) if r.get("node_ip")}),
        ongoing_requests=None if ongoing is None else ongoing.get(name, 0),
        message=deployment.get("message") or application.get("message") or "",
        adapters=[
            adapter_model_name(name, adapter["name"])
            for adapter in (override.get("user_config") or {}).get("adapters") or []
        ],
    )


def fleet_status(
    details: dict[str, Any],
    routes: list[dict[str, Any]],
    ongoing: dict[str, int] | None,
) -> FleetStatus:
    """The report from Serve's instance details and the router's answers."""
    applications = details.get("applications", {})
    models = [
        status
        for application in applications.values()
        if (status := model_status(application, ongoing)) is not None
    ]
    services = [
        ServiceStatus(
            name=deployment_name,
            status=_plain(deployment["status"]),
            replicas=replica_counts(deployment),
        )
        for app_name, deployment_name in ((APP_NAME, ROUTER_DEPLOYMENT), (EMBEDDER_APP, "embedder"))
        if (
            deployment := (applications.get(app_name, {}).get("deployments") or {}).get(
                deployment_name
            )
        )
    ]
    statuses = {
        _plain(application.get("status", "UNKNOWN")) for application in applications.values()
    }
    overall = next((s for s in ("DEPLOY_FAILED", "UNHEALTHY", "DEPLOYING") if s in statuses), None)
    return FleetStatus(
        status=overall or ("RUNNING" if statuses else "NOT_DEPLOYED"),
        models=sorted(models, key=lambda model: model.name),
        services=services,
        routes=routes,
    )


def router_ongoing(router: Any, replicas: int, *, timeout_s: float = 5) -> dict[str, int] | None:
    """Calls in flight per model, summed over the router replicas.

    A handle call lands on some replica; asking until every replica has answered once
    reaches them all. None if some stay silent (the count would be partial).
    """
    seen: dict[str, dict[str, int]] = {}
    deadline = time.monotonic() + timeout_s
    while len(seen) < replicas and time.monotonic() < deadline:
        answer = router.load.remote().result(timeout_s=timeout_s)
        seen[answer["replica"]] = answer["in_flight"]
    if len(seen) < replicas:
        return None
    total: Counter[str] = Counter()
    for in_flight in seen.values():
        total.update(in_flight)
    return dict(total)


def collect_status() -> FleetStatus:
    """The running cluster's report (needs a connected Ray driver)."""
    from ray import serve
    from ray.serve.context import _get_global_client

    details = _get_global_client().get_serve_details()
    router_deployment = (
        details.get("applications", {}).get(APP_NAME, {}).get("deployments", {})
    ).get(ROUTER_DEPLOYMENT)
    if router_deployment is None or router_deployment.get("status") != "HEALTHY":
        return fleet_status(details, routes=[], ongoing=None)
    router = serve.get_deployment_handle(ROUTER_DEPLOYMENT, app_name=APP_NAME)
    routes = router.routing_config.remote().result(timeout_s=10)["routes"]
    ongoing = router_ongoing(router, router_deployment.get("target_num_replicas", 1))
    return fleet_status(details, routes=routes, ongoing=ongoing)
