"""What the standard comparison measures, read from the bench config: the engine every
system serves, the systems in order, and on each the targets (a label, a transport, an
address and a model name)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from cluster.config.checks import resolve_source
from cluster.config.schema import ClusterConfig
from cluster.models.llm_config import engine_kwargs, placement_bundles

from .systems import BareVLLM, Engine, LLMFleet, RayServeLLM, System

# The guard policies the bench config binds to its two extra routes.
UNGUARDED_POLICY = "unguarded"
RULES_POLICY = "rules"
VLLM_PORT = 8100
RAY_SERVE_LLM_PORT = 8200


@dataclass(frozen=True)
class Target:
    """One measured row family: a label, a transport, where to send and which model name."""

    label: str
    transport: str
    address: str
    model: str


def engine_of(config: ClusterConfig) -> Engine:
    """The bench config's first model as every system serves it: checkpoint, engine
    arguments and llm-fleet's placement."""
    model = config.models[0]
    return Engine(
        model.name,
        resolve_source(model),
        engine_kwargs(model),
        bundles=placement_bundles(model, config),
    )


def systems_to_run(
    systems: str, config: ClusterConfig, config_path: Path, engine: Engine
) -> list[tuple[System, list[Target]]]:
    """The systems to run, in order, each with what to measure on it."""
    http = f"http://{config.http.host}:{config.http.port}/v1"
    grpc = f"{config.grpc.host}:{config.grpc.port}"
    vllm = BareVLLM("vllm", f"http://127.0.0.1:{VLLM_PORT}/v1", engine=engine, port=VLLM_PORT)
    ray_llm = RayServeLLM(
        "ray-serve-llm",
        f"http://127.0.0.1:{RAY_SERVE_LLM_PORT}/v1",
        engine=engine,
        port=RAY_SERVE_LLM_PORT,
    )
    ray_llm_direct = RayServeLLM(
        "ray-serve-llm-direct",
        f"http://127.0.0.1:{RAY_SERVE_LLM_PORT}/v1",
        engine=engine,
        port=RAY_SERVE_LLM_PORT,
        direct=True,
    )
    fleet = LLMFleet("llm-fleet", http, config=config_path)
    unguarded = route_bound_to(config, UNGUARDED_POLICY)
    rules = route_bound_to(config, RULES_POLICY)
    plan = {
        "vllm": (vllm, [Target("vllm", "http", vllm.base_url, engine.model)]),
        "ray-serve-llm": (
            ray_llm,
            [Target("ray-serve-llm", "http", ray_llm.base_url, engine.model)],
        ),
        "ray-serve-llm-direct": (
            ray_llm_direct,
            [Target("ray-serve-llm-direct", "http", ray_llm_direct.base_url, engine.model)],
        ),
        "llm-fleet": (
            fleet,
            [
                Target("llm-fleet", "http", http, unguarded),
                Target("llm-fleet", "grpc", grpc, unguarded),
                Target("llm-fleet+rules", "http", http, rules),
                Target("llm-fleet+rules", "grpc", grpc, rules),
                Target("llm-fleet+guards", "http", http, engine.model),
                Target("llm-fleet+guards", "grpc", grpc, engine.model),
            ],
        ),
    }
    chosen = [name.strip() for name in systems.split(",") if name.strip()]
    unknown = sorted(set(chosen) - plan.keys())
    if unknown:
        raise SystemExit(f"--systems: unknown {', '.join(unknown)}; known: {', '.join(plan)}")
    return [plan[name] for name in chosen]


def route_bound_to(config: ClusterConfig, policy: str) -> str:
    """The route of the bench config whose guard binding is exactly ``policy``."""
    routes = {route.name for route in config.routes}
    for name, binding in config.guardrails.routes.items():
        if binding == policy and name in routes:
            return name
    raise SystemExit(
        f"--config: no route is bound to the guard policy '{policy}' alone "
        f"(guardrails.routes); the comparison measures one"
    )
