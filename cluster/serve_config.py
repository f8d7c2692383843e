"""A cluster config as Ray Serve's declarative config (what `serve deploy` and a KubeRay
RayService's ``serveConfigV2`` take).

Two kinds of settings, kept apart on purpose:

- builder arguments (``args``) shape what a replica *is* (the engine, its model, its
  placement). Serve restarts an application whose arguments change, with a rolling update.
- deployment overrides (``deployments``) say how many replicas run and how much each
  takes at once. Serve applies them to running replicas: scaling never restarts a model.
"""

from __future__ import annotations

from typing import Any

from cluster.config.schema import AutoscalingConfig, ClusterConfig, ModelConfig, deployment_name
from cluster.status import APP_NAME, EMBEDDER_APP, ROUTER_DEPLOYMENT
from services.telemetry.config import telemetry_env

MODEL_IMPORT_PATH = "cluster.app:model_app"
ROUTER_IMPORT_PATH = "cluster.app:router_app"
EMBEDDER_IMPORT_PATH = "cluster.app:embedder_app"

# Process-wide Ray Serve switches, read when a proxy or replica starts (the launcher sets
# them for every Ray process, the KubeRay render for every pod). Ray Serve's proxies reach
# the router over Serve's gRPC transport rather than Ray actor calls (the router's own
# handles ask for it per handle), and replicas run our code and their request router on
# their main event loop rather than a thread of its own each, which saves a hand-off
# between threads per message (two of Ray's `RAY_SERVE_THROUGHPUT_OPTIMIZED` settings; its
# others change where and when logs are written). Measured in loadtests/README.md, "Where
# the time goes". Replicas and handles hand their cached metrics to Ray every second rather
# than every 100 ms: Ray exports them every 10 s by default (never more often than once a
# second), and the hand-over ten times a second cost an idle CPU node ~0.5% of a core per
# replica.
SERVE_PROCESS_ENV = {
    "RAY_SERVE_PROXY_USE_GRPC": "1",
    "RAY_SERVE_RUN_USER_CODE_IN_SEPARATE_THREAD": "0",
    "RAY_SERVE_RUN_ROUTER_IN_SEPARATE_LOOP": "0",
    "RAY_SERVE_METRICS_EXPORT_INTERVAL_MS": "1000",
}

# ModelConfig fields Serve applies without restarting the engine (deployment overrides),
# or that only the router reads (its user_config). A model's adapters are live too: its
# replicas get them as their own user_config (lora.adapters, see model_override).
LIVE_MODEL_FIELDS: dict[str, Any] = {
    "replicas": True,
    "autoscaling": True,
    "max_ongoing_requests": True,
    "max_queued_requests": True,
    "graceful_shutdown_timeout_s": True,
    "description": True,
    "lora": {"adapters"},
}


def autoscaling_options(scaling: AutoscalingConfig) -> dict[str, Any]:
    """Ray Serve's ``autoscaling_config`` for ours; a model never starts with no replica."""
    return {
        "min_replicas": scaling.min_replicas,
        "initial_replicas": max(scaling.min_replicas, 1),
        "max_replicas": scaling.max_replicas,
        "target_ongoing_requests": scaling.target_ongoing_requests,
        "upscale_delay_s": scaling.upscale_delay_s,
        "downscale_delay_s": scaling.downscale_delay_s,
        "look_back_period_s": scaling.look_back_period_s,
    }


def scaling_override(
    *, replicas: int | None, autoscaling: AutoscalingConfig | None
) -> dict[str, Any]:
    """Fixed replicas or autoscaling, with the other explicitly cleared so a switch
    between the two modes takes effect."""
    if autoscaling is None:
        return {"num_replicas": replicas or 1, "autoscaling_config": None}
    return {"num_replicas": None, "autoscaling_config": autoscaling_options(autoscaling)}


def model_override(model: ModelConfig) -> dict[str, Any]:
    override = {
        "name": deployment_name(model.name),
        **scaling_override(replicas=model.replicas, autoscaling=model.autoscaling),
        "max_ongoing_requests": model.max_ongoing_requests,
        "max_queued_requests": model.max_queued_requests,
        "graceful_shutdown_timeout_s": model.graceful_shutdown_timeout_s,
    }
    if model.lora is not None:
        # Serve hands it to running replicas (FleetLLMServer.reconfigure): no restart.
        adapters = [adapter.model_dump(mode="json") for adapter in model.lora.adapters]
        override["user_config"] = {"adapters": adapters}
    return override


def model_app_args(model: ModelConfig, cluster: ClusterConfig) -> dict[str, Any]:
    """Only what shapes this model's engine, so other changes never restart it."""
    return {
        "model": model.model_dump(mode="json", exclude=LIVE_MODEL_FIELDS),
        "device": cluster.device,
        "env": cluster.env,
    }


def model_application(model: ModelConfig, cluster: ClusterConfig) -> dict[str, Any]:
    return {
        "name": deployment_name(model.name),
        # Reached only through the router, never from the proxies.
        "route_prefix": None,
        "import_path": MODEL_IMPORT_PATH,
        "args": model_app_args(model, cluster),
        "deployments": [model_override(model)],
    }


def router_application(config: ClusterConfig) -> dict[str, Any]:
    from cluster.app import router_app_args, router_user_config

    router = config.router
    return {
        "name": APP_NAME,
        "route_prefix": "/",
        "import_path": ROUTER_IMPORT_PATH,
        "args": router_app_args(config),
        "deployments": [
            {
                "name": ROUTER_DEPLOYMENT,
                "num_replicas": router.replicas,
                "max_ongoing_requests": router.max_ongoing_requests,
                "max_queued_requests": router.max_queued_requests,
                "graceful_shutdown_timeout_s": router.graceful_shutdown_timeout_s,
                "user_config": router_user_config(config),
            }
        ],
    }


def embedder_application(config: ClusterConfig) -> dict[str, Any]:
    return {
        "name": EMBEDDER_APP,
        "route_prefix": None,
        "import_path": EMBEDDER_IMPORT_PATH,
        "args": {"embedder": config.embedder.model_dump(mode="json")},
    }


def applications(config: ClusterConfig) -> list[dict[str, Any]]:
    """The Serve applications of a config: the router (the only ingress), the embedder
    (semantic routes and guardrails call it) and one per model."""
    return [
        router_application(config),
        embedder_application(config),
        *(model_application(model, config) for model in config.models),
    ]


def http_options(config: ClusterConfig) -> dict[str, Any]:
    options: dict[str, Any] = {"host": config.http.host, "port": config.http.port}
    if config.http.tls is not None:
        options |= {
            "ssl_certfile": config.http.tls.cert_file,
            "ssl_keyfile": config.http.tls.key_file,
        }
    return options


def grpc_options(config: ClusterConfig) -> dict[str, Any]:
    from services.api.grpc_decoding import GRPC_SERVICER_FUNCTIONS

    return {"port": config.grpc.port, "grpc_servicer_functions": GRPC_SERVICER_FUNCTIONS}


def serve_deploy_config(config: ClusterConfig) -> dict[str, Any]:
    """The whole declarative Serve config (``ServeDeploySchema``) of a cluster config."""
    return {
        "proxy_location": config.proxy_location,
        "http_options": http_options(config),
        "grpc_options": grpc_options(config),
        "controller_options": controller_options(config),
        "applications": applications(config),
    }


def controller_options(config: ClusterConfig) -> dict[str, Any]:
    """The Serve controller's environment, which its proxies and replicas inherit: the
    telemetry settings reach every process Serve starts this way (Ray applies it when it
    creates the controller, so they are fixed while the cluster runs)."""
    return {"runtime_env": {"env_vars": telemetry_env(config.telemetry, cluster=config.name)}}
