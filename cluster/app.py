"""The Ray Serve applications of a cluster config: one per model, the embedder and the
router.

Each model is its own application, so Serve restarts, adds or deletes one model
without touching the others (an application restarts when its builder arguments
change). The router learns the served models from its user_config, which Serve
updates in place.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ray.serve.deployment import Application
from ray.serve.llm import build_llm_deployment

from cluster.auth import key_file
from cluster.config.checks import resolve_source
from cluster.config.lora import adapter_model_name
from cluster.config.schema import ClusterConfig, ModelConfig, RouterConfig, deployment_name
from cluster.models.llm_config import to_llm_config
from cluster.models.server import FleetLLMServer
from cluster.status import EMBEDDER_APP, ROUTER_DEPLOYMENT
from services.embedder.config import EmbedderConfig
from services.embedder.deployment import EMBEDDER_DEPLOYMENT, embedder_deployment
from services.router.catalog import ServedModel
from services.router.deployment import RouterDeployment, RouterUserConfig
from services.tls_gateway.config import GatewaySpec


def model_app(args: dict[str, Any]) -> Application:
    """Serve's declarative entry point for one model (``cluster.app:model_app``).

    Must run on a connected Ray driver (Ray's LLM builder reads the runtime context).
    """
    model = ModelConfig.model_validate(args["model"])
    cluster = ClusterConfig(device=args["device"], env=args["env"], models=[model])
    return build_llm_deployment(
        to_llm_config(model, cluster),
        override_serve_options={"name": deployment_name(model.name)},
        deployment_cls=FleetLLMServer,
    )


def served_models(model: ModelConfig) -> list[ServedModel]:
    """The model and each of its LoRA adapters, which run on the model's replicas."""
    base = ServedModel(
        name=model.name,
        source=model.source,
        max_model_len=model.engine.max_model_len,
        tensor_parallel_size=model.engine.tensor_parallel_size,
        description=model.description,
        deployment=deployment_name(model.name),
        app=deployment_name(model.name),
        tokenizer=resolve_source(model),
    )
    adapters = model.lora.adapters if model.lora else []
    return [
        base,
        *(
            dataclasses.replace(
                base,
                name=adapter_model_name(model.name, adapter.name),
                source=adapter.path,
                description=adapter.description,
                adapter_of=model.name,
            )
            for adapter in adapters
        ),
    ]


# The router settings fixed at start; the rest (attempts, timeouts, breakers) travel in
# its user_config and change live.
# Replicas and queue limits are deployment overrides (cluster.serve_config).
_ROUTER_START_SETTINGS = {"request_timeout_s"}


def router_app_args(config: ClusterConfig) -> dict[str, Any]:
    return {
        "router": config.router.model_dump(mode="json", include=_ROUTER_START_SETTINGS),
        # Read from the environment Serve's controller passes on; here so that `fleet apply`
        # sees a change it cannot make live.
        "telemetry": config.telemetry.model_dump(mode="json"),
        # The router replicas keep the gRPC TLS gateway open (see RouterDeployment).
        "grpc_gateway": spec.model_dump(mode="json")
        if (spec := grpc_gateway_spec(config))
        else None,
    }


def grpc_gateway_spec(config: ClusterConfig) -> GatewaySpec | None:
    """The gRPC TLS gateway of ``config``, in front of the Serve proxy on its node."""
    tls = config.grpc.tls
    if tls is None:
        return None
    return GatewaySpec(
        tls=tls,
        upstream=f"127.0.0.1:{config.grpc.port}",
        key_file=str(key_file(config)) if config.auth.enabled else None,
    )


def router_user_config(config: ClusterConfig) -> dict[str, Any]:
    """What the router applies live: the served models, the routes, the guard policies and
    the tenants' access."""
    return RouterUserConfig(
        models=[served for model in config.models for served in served_models(model)],
        routing=config.routing(),
        guardrails=config.guardrails,
        auth=config.auth.model_copy(update={"keys_file": str(key_file(config))}),
    ).model_dump(mode="json", by_alias=True)


def router_app(args: dict[str, Any]) -> Application:
    """Serve's declarative entry point for the router (``cluster.app:router_app``)."""
    router = RouterConfig.model_validate(args["router"])
    return RouterDeployment.options(
        name=ROUTER_DEPLOYMENT,
        # The router only forwards; it must never wait for a CPU an engine holds.
        ray_actor_options={"num_cpus": 0},
    ).bind(
        grpc_gateway=args.get("grpc_gateway"),
        timeout_s=router.request_timeout_s,
        embedder_deployment=EMBEDDER_DEPLOYMENT,
        embedder_app=EMBEDDER_APP,
    )


def embedder_app(args: dict[str, Any]) -> Application:
    """Serve's declarative entry point for the embedder (``cluster.app:embedder_app``)."""
    return embedder_deployment(EmbedderConfig.model_validate(args["embedder"]))
