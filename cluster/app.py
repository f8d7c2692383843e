"""Build the Ray Serve application of a cluster config: model deployments + router."""

from __future__ import annotations

from ray.serve.deployment import Application
from ray.serve.llm import build_llm_deployment

from cluster.config.schema import ClusterConfig, ModelConfig, deployment_name
from cluster.models.llm_config import to_llm_config
from cluster.models.server import FleetLLMServer
from cluster.status import ROUTER_DEPLOYMENT
from services.router.catalog import ServedModel
from services.router.deployment import RouterDeployment


def model_deployment(model: ModelConfig, cluster: ClusterConfig) -> Application:
    return build_llm_deployment(
        to_llm_config(model, cluster),
        override_serve_options={"name": deployment_name(model.name)},
        deployment_cls=FleetLLMServer,
    )


def served_model(model: ModelConfig) -> ServedModel:
    return ServedModel(
        name=model.name,
        source=model.source,
        max_model_len=model.engine.max_model_len,
        tensor_parallel_size=model.engine.tensor_parallel_size,
        description=model.description,
    )


def build_application(config: ClusterConfig) -> Application:
    """Must run on a connected Ray driver (Ray's LLM builder reads the runtime context)."""
    router = RouterDeployment.options(
        name=ROUTER_DEPLOYMENT,
        num_replicas=config.router.replicas,
        max_ongoing_requests=config.router.max_ongoing_requests,
        max_queued_requests=config.router.max_queued_requests,
        user_config=config.routing().model_dump(),
        # The router only forwards; it must never wait for a CPU an engine holds.
        ray_actor_options={"num_cpus": 0},
    )
    return router.bind(
        models={model.name: model_deployment(model, config) for model in config.models},
        catalog=[served_model(model) for model in config.models],
        timeout_s=config.router.request_timeout_s,
    )


def app_builder(args: dict) -> Application:
    """Serve's declarative entry point (``import_path: cluster.app:app_builder``)."""
    return build_application(ClusterConfig.model_validate(args["config"]))
