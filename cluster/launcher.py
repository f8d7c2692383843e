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
from cluster.config.schema import ClusterConfig
from cluster.serve_config import (
    SERVE_PROCESS_ENV,
    controller_options,
    grpc_options,
    http_options,
    serve_deploy_config,
)
from cluster.status import APP_NAME, AppState, app_state

# Quiet, offline-friendly defaults for every Ray process we start.
RAY_ENV = {
    "RAY_USAGE_STATS_ENABLED": "0",
    "HF_HUB_OFFLINE": "1",
    "TOKENIZERS_PARALLELISM": "false",
    **SERVE_PROCESS_ENV,
}


# How many times (about a second apart) a process joining the cluster tries its GCS.
GCS_CONNECT_ATTEMPTS_ENV = "RAY_gcs_server_port_wait_time_s"

# Ray's token authentication: the mode, and a token given in the environment (else Ray reads
# ~/.ray/auth_token).
RAY_AUTH_MODE_ENV = "RAY_AUTH_MODE"
RAY_TOKEN_ENV = "RAY_AUTH_TOKEN"

# Where `ray start --head` records the address of the cluster it started.
CURRENT_CLUSTER_FILE = Path("/tmp/ray/ray_current_cluster")


class DeployError(RuntimeError):
    """The application did not come up."""


@dataclass(frozen=True)
class Endpoints:
    http: str
    grpc: str
    """Ray Serve's plaintext gRPC proxy."""
    metrics: str
    traces: str
    """Where spans go: the exporter and its endpoint."""
    grpc_tls: str | None = None
    """The TLS gateway in front of the gRPC proxy, when the config has one."""

    @classmethod
    def of(cls, config: ClusterConfig) -> Endpoints:
        tracing = config.telemetry.tracing
        scheme = "https" if config.http.tls is not None else "http"
        tls = config.grpc.tls
        return cls(
            http=f"{scheme}://{config.http.host}:{config.http.port}/v1",
            grpc=f"{config.grpc.host}:{config.grpc.port}",
            metrics=f"http://{config.http.host}:{config.telemetry.metrics.port}/metrics",
            traces=" ".join(filter(None, [tracing.exporter, tracing.otlp_endpoint])),
            grpc_tls=f"{config.grpc.host}:{tls.port}" if tls is not None else None,
        )


def _ray_executable() -> str:
    beside_python = Path(sys.executable).with_name("ray")
    return str(beside_python) if beside_python.exists() else (shutil.which("ray") or "ray")


def start_local_head(num_cpus: int | None, metrics_port: int) -> None:
    """A detached local Ray head that outlives this process (``fleet down`` stops it).
    Its metrics agent serves Prometheus text on ``metrics_port``.

    Ray's token authentication is on: every connection to the cluster (the commands that
    change it, workers joining it) must present the cluster token, which Ray keeps in
    ``~/.ray/auth_token`` (made here when missing). That token is the operator credential;
    tenants' API keys open only the HTTP and gRPC endpoints."""
    command = [
        _ray_executable(),
        "start",
        "--head",
        "--disable-usage-stats",
        "--include-dashboard=false",
        f"--metrics-export-port={metrics_port}",
    ]
    if num_cpus is not None:
        command.append(f"--num-cpus={num_cpus}")
    # The engines log as configured for the cluster, not as quietly as this CLI.
    env = {k: v for k, v in os.environ.items() if k != "VLLM_LOGGING_LEVEL"}
    env = {**env, **RAY_ENV, RAY_AUTH_MODE_ENV: "token"}
    # Prints the token; kept out of this command's output.
    subprocess.run(
        [_ray_executable(), "get-auth-token", "--generate"],
        check=True,
        env=env,
        capture_output=True,
    )
    subprocess.run(command, check=True, env=env, capture_output=True, text=True)


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
    # Callers have seen the GCS port answer (running_ray_address): what fails now is the
    # credential, which Ray would retry for 20 s before the refusal reaches the operator.
    os.environ.setdefault(GCS_CONNECT_ATTEMPTS_ENV, "5")
    ray.init(address=address, log_to_driver=False, logging_level="ERROR")
    _quiet_ray_loggers()


def running_ray_address(joined: str | None = None) -> str | None:
    """The Ray cluster the CLI talks to: ``RAY_ADDRESS`` when set (Ray's own convention),
    else the cluster `fleet up` ``joined``, else ``auto`` when a local Ray head is
    reachable, else None.

    Reads the address `ray start` records and checks its GCS port answers; cheaper and
    quieter than `ray status`, and a stale record from a dead cluster reads as None.
    """
    if os.environ.get("RAY_ADDRESS") or joined:
        return os.environ.get("RAY_ADDRESS") or joined
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
    serve.start(
        proxy_location=config.proxy_location,
        http_options=http_options(config),
        grpc_options=grpc_options(config),
        controller_options=controller_options(config),
    )
    _quiet_ray_loggers()
    if config.grpc.tls is not None:
        _open_grpc_gateway(config)
    submit(serve_deploy_config(config))
    wait_until_running(on_progress=on_progress, timeout_s=timeout_s)
    return Endpoints.of(config)


def _open_grpc_gateway(config: ClusterConfig) -> None:
    from cluster.app import grpc_gateway_spec
    from services.tls_gateway.gateway import open_gateway

    spec = grpc_gateway_spec(config)
    assert spec is not None
    try:
        open_gateway(spec)
    except RuntimeError as error:
        raise DeployError(f"grpc.tls: {error}") from None


def submit(deploy_config: dict[str, Any]) -> None:
    """Deploy through Serve's declarative path, as `serve deploy` does.

    Serve restarts an application only when its builder arguments change and applies
    deployment overrides (replicas, queue limits, the router's user_config) to running
    replicas. Applications missing from the config are deleted.
    """
    from ray.serve.context import _get_global_client
    from ray.serve.schema import ServeDeploySchema

    _get_global_client().deploy_apps(ServeDeploySchema.model_validate(deploy_config))


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


def model_deployment(app: str) -> dict[str, Any]:
    """Serve's details of a model application's one deployment ({} if not deployed)."""
    from ray.serve.context import _get_global_client

    details = _get_global_client().get_serve_details()["applications"].get(app, {})
    return (details.get("deployments") or {}).get(app, {})


def replica_ids(app: str) -> set[str]:
    return {replica["replica_id"] for replica in model_deployment(app).get("replicas", [])}


def wait_for_replicas(
    app: str,
    *,
    target: int | None = None,
    replaced: set[str] | frozenset[str] = frozenset(),
    timeout_s: float,
) -> None:
    """Until the model's deployment is healthy and runs as many replicas as it targets
    (``target`` when given), none of them one of ``replaced``.

    Serve applies a new config a control-loop tick after accepting it, so "healthy" alone
    can still describe the old one; the target and the replica ids cannot.
    """
    deadline = time.monotonic() + timeout_s
    while True:
        deployment = model_deployment(app)
        replicas = deployment.get("replicas", [])
        running = {r["replica_id"] for r in replicas if r["state"] == "RUNNING"}
        wanted = deployment.get("target_num_replicas")
        if (
            deployment.get("status") == "HEALTHY"
            and len(running) == wanted
            and (target is None or wanted == target)
            and not running & replaced
            and len(replicas) == wanted
        ):
            return
        if time.monotonic() > deadline:
            raise DeployError(
                f"{app}: {len(running)} of {wanted} replicas running after {timeout_s:.0f} s "
                f"({deployment.get('status', 'not deployed')}: {deployment.get('message', '')})"
            )
        time.sleep(1)


def drain_router() -> None:
    """Stop the router application and wait until its replicas have finished the requests
    they hold (up to the router's graceful_shutdown_timeout_s), with the proxies and the
    models still up to carry them: serve.shutdown kills the proxies at once, cutting every
    stream in flight. New requests are refused from the start."""
    if APP_NAME in serve.status().applications:
        serve.delete(APP_NAME, _blocking=True)


def undeploy() -> None:
    """Stop the application and disconnect, so stopping Ray next does not alarm this driver."""
    from services.auth.registry import close_registry
    from services.quotas.gate import close_keeper
    from services.tls_gateway.gateway import close_gateway

    drain_router()
    serve.shutdown()  # first: the router replicas would start the gateway again
    close_gateway()
    close_registry()
    close_keeper()
    ray.shutdown()
