"""Start, join and stop the Ray cluster and the llm-fleet application on it."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ray
from ray import serve

from cluster.config.checks import check_config
from cluster.config.schema import ClusterConfig, deployment_name
from cluster.status import APP_NAME, EMBEDDER_APP, ROUTER_DEPLOYMENT, AppState, app_state
from services.api.grpc_handlers import GRPC_SERVICER_FUNCTIONS

# Quiet, offline-friendly defaults for every Ray process we start.
RAY_ENV = {"RAY_USAGE_STATS_ENABLED": "0", "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}


# Where `ray start --head` records the address of the cluster it started.
CURRENT_CLUSTER_FILE = Path("/tmp/ray/ray_current_cluster")


class DeployError(RuntimeError):
    """The application did not come up."""


@dataclass(frozen=True)
class Endpoints:
    http: str
    grpc: str

    @classmethod
    def of(cls, config: ClusterConfig) -> Endpoints:
        return cls(
            http=f"http://{config.http.host}:{config.http.port}/v1",
            grpc=f"{config.grpc.host}:{config.grpc.port}",
        )


def _ray_executable() -> str:
    beside_python = Path(sys.executable).with_name("ray")
    return str(beside_python) if beside_python.exists() else (shutil.which("ray") or "ray")


def start_local_head(num_cpus: int | None) -> None:
    """A detached local Ray head that outlives this process (``fleet down`` stops it)."""
    command = [
        _ray_executable(),
        "start",
        "--head",
        "--disable-usage-stats",
        "--include-dashboard=false",
    ]
    if num_cpus is not None:
        command.append(f"--num-cpus={num_cpus}")
    # The engines log as configured for the cluster, not as quietly as this CLI.
    env = {k: v for k, v in os.environ.items() if k != "VLLM_LOGGING_LEVEL"}
    subprocess.run(command, check=True, env={**env, **RAY_ENV}, capture_output=True, text=True)


def stop_local_ray() -> None:
    subprocess.run([_ray_executable(), "stop", "--force"], check=False, capture_output=True)


def _quiet_ray_loggers() -> None:
    # Serve logs every handle and deployment option at INFO; our commands report progress
    # themselves.
    for name in ("ray", "ray.serve", "ray.llm"):
        logging.getLogger(name).setLevel(logging.WARNING)


def connect(address: str) -> None:
    os.environ.update(RAY_ENV)
    if ray.is_initialized():
        return
    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    _quiet_ray_loggers()


def running_ray_address() -> str | None:
    """``auto`` when a local Ray head is reachable, else None.

    Reads the address `ray start` records and checks its GCS port answers; cheaper and
    quieter than `ray status`, and a stale record from a dead cluster reads as None.
    """
    try:
        host, port = CURRENT_CLUSTER_FILE.read_text().strip().rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=1):
            return "auto"
    except (OSError, ValueError):
        return None


def deploy(
    config: ClusterConfig,
    *,
    on_progress: Callable[[AppState | None], None] | None = None,
    timeout_s: float = 900,
) -> Endpoints:
    """Deploy the models and the router on the connected Ray; wait until all serve."""
    check_config(config)
    serve.start(http_options=_http_options(config), grpc_options=_grpc_options(config))
    _quiet_ray_loggers()
    _submit(config)
    wait_until_running(on_progress=on_progress, timeout_s=timeout_s)
    return Endpoints.of(config)


def _http_options(config: ClusterConfig) -> dict:
    return {"host": config.http.host, "port": config.http.port}


def _grpc_options(config: ClusterConfig) -> dict:
    return {"port": config.grpc.port, "grpc_servicer_functions": GRPC_SERVICER_FUNCTIONS}


def _applications(config: ClusterConfig) -> list[dict[str, Any]]:
    """The Serve applications of a config: the router (the only ingress), the embedder
    (semantic routes and guardrails call it) and one per model."""
    from cluster.app import embedder_app_args, model_app_args, router_app_args, router_user_config

    router = {
        "name": APP_NAME,
        "route_prefix": "/",
        "import_path": "cluster.app:router_app",
        "args": router_app_args(config),
        "deployments": [{"name": ROUTER_DEPLOYMENT, "user_config": router_user_config(config)}],
    }
    models = [
        {
            "name": deployment_name(model.name),
            # Reached only through the router, never from the proxies.
            "route_prefix": None,
            "import_path": "cluster.app:model_app",
            "args": model_app_args(model, config),
        }
        for model in config.models
    ]
    embedder = {
        "name": EMBEDDER_APP,
        "route_prefix": None,
        "import_path": "cluster.app:embedder_app",
        "args": embedder_app_args(config),
    }
    return [router, embedder, *models]


def _submit(config: ClusterConfig) -> None:
    """Deploy through Serve's declarative path, as `serve deploy` does.

    Serve restarts an application only when its builder arguments change, so a change
    of routes (the router's user_config) reconfigures the router in place, and a
    changed model restarts that model alone. Applications missing from the config are
    deleted.
    """
    from ray.serve.context import _get_global_client
    from ray.serve.schema import ServeDeploySchema

    schema = ServeDeploySchema(
        http_options=_http_options(config),
        grpc_options=_grpc_options(config),
        applications=_applications(config),
    )
    _get_global_client().deploy_apps(schema)


class RoutesOnlyError(DeployError):
    """The file changes more than routes, so applying it would restart deployments."""


def _app_args(applications: list[dict[str, Any]]) -> dict[str, Any]:
    return {app["name"]: app.get("args") for app in applications}


def running_app_args() -> dict[str, Any]:
    """The builder arguments of each deployed application."""
    from ray.serve.context import _get_global_client

    details = _get_global_client().get_serve_details()
    return {
        name: (application.get("deployed_app_config") or {}).get("args")
        for name, application in details.get("applications", {}).items()
    }


def apply_routes(config: ClusterConfig, *, timeout_s: float = 120) -> None:
    """Push the config's routes and guard policies to the running router as its
    user_config.

    Serve sees every application's builder arguments unchanged and leaves the models
    running; the router replicas are reconfigured in place, so requests in flight are
    not touched.
    """
    wanted = (config.routing().model_dump(mode="json"), config.guardrails.model_dump(mode="json"))
    if running_app_args() != _app_args(_applications(config)):
        raise RoutesOnlyError(
            "this config changes models, engines or endpoints, not only routes; "
            "applying it would restart deployments"
        )
    _submit(config)
    router = serve.get_deployment_handle(ROUTER_DEPLOYMENT, app_name=APP_NAME)
    deadline = time.monotonic() + timeout_s
    agreeing = 0
    # Calls land on random router replicas: several agreeing answers in a row mean all
    # of them (with high probability) run the new routes.
    while agreeing < 2 * (config.router.replicas + 1):
        if time.monotonic() > deadline:
            raise DeployError(f"routes not applied after {timeout_s:.0f} s")
        applied = (
            router.routing_config.remote().result(),
            router.guardrails_config.remote().result(),
        )
        agreeing = agreeing + 1 if applied == wanted else 0
        if agreeing == 0:
            time.sleep(0.2)


def wait_until_running(
    *, on_progress: Callable[[AppState | None], None] | None = None, timeout_s: float = 900
) -> AppState:
    deadline = time.monotonic() + timeout_s
    while True:
        state = app_state()
        if on_progress is not None:
            on_progress(state)
        if state is not None and state.is_running:
            return state
        if state is not None and state.has_failed:
            raise DeployError(f"deployment failed: {state.message}")
        if time.monotonic() > deadline:
            raise DeployError(f"not running after {timeout_s:.0f} s")
        time.sleep(2)


def undeploy() -> None:
    """Stop the application and disconnect, so stopping Ray next does not alarm this driver."""
    serve.shutdown()
    ray.shutdown()
