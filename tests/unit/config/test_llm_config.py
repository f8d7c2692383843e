"""Our model config becomes the Ray Serve LLM config we mean."""

import pytest

from cluster.config import parse_config
from cluster.config.schema import ModelConfig, StreamingConfig
from cluster.models.llm_config import (
    cpu_thread_binding,
    engine_env,
    engine_kwargs,
    placement_bundles,
    to_llm_config,
)
from cluster.models.node_init import SkipDownloadForLocalCheckpoint
from cluster.models.server import INTERVAL_KEY, MAX_CHUNKS_KEY

CONFIG = parse_config(
    """
device: cpu
env: {SHARED: "1"}
models:
  - name: moe
    source: org/moe
    engine:
      tensor_parallel_size: 2
      dtype: float32
      max_model_len: 512
      extra_args: {swap_space: 0}
    autoscaling: {min_replicas: 0, max_replicas: 3, target_ongoing_requests: 4}
    env: {VLLM_CPU_KVCACHE_SPACE: "2"}
"""
)
MODEL = CONFIG.models[0]


def test_engine_kwargs_pass_set_fields_and_extras() -> None:
    assert engine_kwargs(MODEL) == {
        "tensor_parallel_size": 2,
        "dtype": "float32",
        "max_model_len": 512,
        "swap_space": 0,
    }


def test_one_bundle_per_tensor_parallel_worker() -> None:
    assert placement_bundles(MODEL, CONFIG) == [{"CPU": 1}, {"CPU": 1}]
    gpu = CONFIG.model_copy(update={"device": "gpu"})
    assert placement_bundles(MODEL, gpu) == [{"CPU": 1, "GPU": 1}, {"CPU": 1, "GPU": 1}]


def test_cpu_env_binds_threads_and_model_env_wins() -> None:
    env = engine_env(MODEL, CONFIG)
    assert env["VLLM_CPU_KVCACHE_SPACE"] == "2"
    assert env["SHARED"] == "1"
    assert "VLLM_CPU_OMP_THREADS_BIND" in env


def test_thread_binding_splits_cores() -> None:
    assert cpu_thread_binding(2, 2) == "0|1"
    assert cpu_thread_binding(2, 8) == "0-3|4-7"
    assert cpu_thread_binding(4, 2) == "0|1|0|1"


def test_an_explicit_kv_cache_size_replaces_the_cpu_default_but_keeps_thread_binding() -> None:
    engine = MODEL.engine.model_copy(update={"extra_args": {"kv_cache_memory_bytes": 1 << 27}})
    sized = MODEL.model_copy(update={"engine": engine, "env": {}})
    env = engine_env(sized, CONFIG)
    assert "VLLM_CPU_KVCACHE_SPACE" not in env
    assert env["VLLM_CPU_OMP_THREADS_BIND"]


def test_streaming_settings_reach_the_model_server() -> None:
    default = to_llm_config(MODEL, CONFIG).experimental_configs
    assert default == {INTERVAL_KEY: 50, MAX_CHUNKS_KEY: 32}
    tuned = ModelConfig.model_validate(
        {**MODEL.model_dump(), "streaming": {"coalesce_ms": 0, "max_chunks": 4}}
    )
    assert to_llm_config(tuned, CONFIG).experimental_configs == {
        INTERVAL_KEY: 0,
        MAX_CHUNKS_KEY: 4,
    }


def test_streaming_settings_are_checked() -> None:
    with pytest.raises(ValueError, match="coalesce_ms"):
        StreamingConfig.model_validate({"coalesce_ms": -1})
    with pytest.raises(ValueError, match="max_chunks"):
        StreamingConfig.model_validate({"max_chunks": 0})


def test_the_model_server_skips_the_download_task_for_local_checkpoints() -> None:
    callback = to_llm_config(MODEL, CONFIG).callback_config.callback_class
    assert callback is SkipDownloadForLocalCheckpoint
