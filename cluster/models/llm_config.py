"""Translate our typed model config into Ray Serve LLM's ``LLMConfig``.

The only module that knows the shape of Ray's LLM configuration, so a Ray
upgrade that changes it breaks here and nowhere else.
"""

from __future__ import annotations

import os
from typing import Any

from ray.serve.llm import LLMConfig

from cluster.config.checks import TYPED_ENGINE_FIELDS, resolve_source
from cluster.config.schema import ClusterConfig, ModelConfig
from cluster.models.node_init import SkipDownloadForLocalCheckpoint
from cluster.models.server import INTERVAL_KEY, MAX_CHUNKS_KEY

# vLLM's CPU backend sizes its KV cache from this (GiB) unless the engine is given
# kv_cache_memory_bytes; its own default takes far too much memory once several engines
# share a machine.
CPU_DEFAULT_ENV = {"VLLM_CPU_KVCACHE_SPACE": "1"}


def engine_kwargs(model: ModelConfig) -> dict[str, Any]:
    """The vLLM engine arguments of ``model``: typed fields that are set, its LoRA limits,
    then extra_args."""
    typed = {name: getattr(model.engine, name) for name in TYPED_ENGINE_FIELDS}
    return {
        **{name: value for name, value in typed.items() if value is not None},
        **lora_engine_kwargs(model),
        **model.engine.extra_args,
    }


def lora_engine_kwargs(model: ModelConfig) -> dict[str, Any]:
    if model.lora is None:
        return {}
    return {
        "enable_lora": True,
        "max_lora_rank": model.lora.max_rank,
        "max_loras": model.lora.max_adapters_per_batch,
        "max_cpu_loras": model.lora.max_adapters_per_replica,
    }


def cpu_thread_binding(tensor_parallel_size: int, cores: int) -> str:
    """One disjoint core range per CPU tensor-parallel worker, e.g. ``0|1`` or ``0-3|4-7``.

    Without it vLLM's CPU workers refuse to start when there are fewer NUMA nodes
    than workers.
    """
    per_worker = max(cores // tensor_parallel_size, 1)
    ranges = []
    for worker in range(tensor_parallel_size):
        first = (worker * per_worker) % cores
        last = first + per_worker - 1
        ranges.append(str(first) if first == last else f"{first}-{last}")
    return "|".join(ranges)


def engine_env(model: ModelConfig, cluster: ClusterConfig) -> dict[str, str]:
    env: dict[str, str] = {}
    if cluster.device == "cpu":
        if "kv_cache_memory_bytes" not in model.engine.extra_args:
            env.update(CPU_DEFAULT_ENV)
        if model.engine.tensor_parallel_size > 1:
            env["VLLM_CPU_OMP_THREADS_BIND"] = cpu_thread_binding(
                model.engine.tensor_parallel_size, os.cpu_count() or 1
            )
    return {**env, **cluster.env, **model.env}


def placement_bundles(model: ModelConfig, cluster: ClusterConfig) -> list[dict[str, float]]:
    """One bundle per tensor-parallel worker, so Ray reserves the whole shard set at once."""
    gpus = model.resources.gpus_per_worker
    if gpus is None:
        gpus = 1 if cluster.device == "gpu" else 0
    bundle: dict[str, float] = {"CPU": model.resources.cpus_per_worker}
    if gpus:
        bundle["GPU"] = gpus
    bundle.update(model.resources.custom)
    return [dict(bundle) for _ in range(model.engine.tensor_parallel_size)]


def to_llm_config(model: ModelConfig, cluster: ClusterConfig) -> LLMConfig:
    # Replicas and queue limits come from the application's deployment overrides
    # (cluster.serve_config), so changing them never restarts an engine.
    deployment_config: dict[str, Any] = {
        "num_replicas": 1,
        # The replica actor only coordinates; the engine's workers hold the
        # placement-group bundles, so the actor itself reserves nothing.
        "ray_actor_options": {"num_cpus": 0},
    }
    return LLMConfig(
        model_loading_config={"model_id": model.name, "model_source": resolve_source(model)},
        engine_kwargs=engine_kwargs(model),
        accelerator_type=model.resources.accelerator_type,
        placement_group_config={
            "bundles": placement_bundles(model, cluster),
            # Tensor-parallel shards talk over the node's own links: one node per replica.
            "strategy": "STRICT_PACK",
        },
        deployment_config=deployment_config,
        runtime_env={"env_vars": engine_env(model, cluster)},
        # Ray Serve's multiplexing keeps each adapter on the replicas that loaded it; which
        # adapters exist the replicas learn from their user_config (cluster.models.adapters).
        lora_config=(
            {"max_num_adapters_per_replica": model.lora.max_adapters_per_replica}
            if model.lora
            else None
        ),
        log_engine_metrics=True,
        callback_config={"callback_class": SkipDownloadForLocalCheckpoint},
        experimental_configs={
            INTERVAL_KEY: model.streaming.coalesce_ms,
            MAX_CHUNKS_KEY: model.streaming.max_chunks,
        },
    )
