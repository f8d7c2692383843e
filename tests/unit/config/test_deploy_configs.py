"""Every config we ship validates, vLLM engine arguments included."""

from pathlib import Path

import pytest

from cluster.config import ConfigError, load_config, parse_config
from cluster.config.checks import check_engine_arguments

REPO = Path(__file__).resolve().parents[3]
CONFIG_DIR = REPO / "deploy" / "configs"
BENCH_CONFIG = REPO / "loadtests" / "configs" / "bench.yaml"
GPU_BENCH_CONFIG = REPO / "loadtests" / "configs" / "bench-gpu.yaml"
SHIPPED = [*sorted(CONFIG_DIR.glob("*.yaml")), BENCH_CONFIG, GPU_BENCH_CONFIG]


def test_local_and_gpu_configs_are_shipped() -> None:
    assert {path.name for path in SHIPPED} >= {"local.yaml", "gpu.yaml"}


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_config_validates(path: Path) -> None:
    config = load_config(path)
    check_engine_arguments(config, str(path))


def test_local_config_serves_the_four_families_on_cpu() -> None:
    config = load_config(CONFIG_DIR / "local.yaml")
    assert config.device == "cpu"
    assert {m.name for m in config.models} >= {
        "tiny-mistral",
        "tiny-mixtral",
        "tiny-qwen2",
        "tiny-phi3",
    }
    assert all(m.is_zoo_model for m in config.models)


def test_gpu_config_uses_real_hub_models() -> None:
    config = load_config(CONFIG_DIR / "gpu.yaml")
    sources = {m.source for m in config.models}
    assert "mistralai/Mistral-7B-Instruct-v0.2" in sources
    assert "microsoft/Phi-3-mini-4k-instruct" in sources
    mixtral = config.model("mixtral-8x7b-instruct")
    assert mixtral.source == "mistralai/Mixtral-8x7B-Instruct-v0.1"
    assert mixtral.engine.tensor_parallel_size == 4


def test_unknown_engine_argument_is_named() -> None:
    config = parse_config(
        "models:\n  - name: m\n    source: org/m\n    engine:\n"
        "      extra_args: {gpu_memory_utilisation: 0.9}\n"
    )
    with pytest.raises(
        ConfigError,
        match=r"models\[0\] \(name: m\)\.engine\.extra_args.*"
        "gpu_memory_utilisation",
    ):
        check_engine_arguments(config, "x.yaml")


class _NoEmbedder:
    async def embed(self, texts: object) -> list[list[float]]:
        raise AssertionError("building a policy must not embed anything yet")


@pytest.mark.parametrize("path", SHIPPED, ids=lambda path: path.name)
def test_shipped_guard_policies_build_into_pipelines(path: Path) -> None:
    from services.guardrails.factory import CheckServices
    from services.guardrails.policies import GuardPolicies

    config = load_config(path)
    policies = GuardPolicies(
        config.guardrails, CheckServices(embedder=_NoEmbedder(), judge=object())
    )
    for policy in config.guardrails.policies:
        guards = policies.for_request(route=None, model=None, tenant=None)
        assert guards is None or guards.input.checks or guards.output.checks
        assert policy.checks or "no checks" in policy.description  # empty only on purpose


def test_bench_config_measures_one_model_with_and_without_guards() -> None:
    config = load_config(BENCH_CONFIG)
    (model,) = config.models
    local = {m.name: m for m in load_config(CONFIG_DIR / "local.yaml").models}
    # The comparison must measure the embedded default's engine, not a tuned one.
    assert model.engine == local[model.name].engine
    guarded = config.guardrails.checks_for("input", model=model.name)
    unguarded = config.guardrails.checks_for("input", route="tiny-qwen2-unguarded")
    assert {check.type for check in guarded} >= {"pii", "secrets", "injection", "topics"}
    assert unguarded == []


def test_gpu_bench_config_is_the_cpu_comparison_with_the_gpu_configs_mistral() -> None:
    cpu, gpu = load_config(BENCH_CONFIG), load_config(GPU_BENCH_CONFIG)
    (model,) = gpu.models
    shipped = {m.name: m for m in load_config(CONFIG_DIR / "gpu.yaml").models}

    assert gpu.device == "gpu"
    assert (model.source, model.engine) == (shipped[model.name].source, shipped[model.name].engine)
    assert gpu.guardrails.policies == cpu.guardrails.policies
    assert gpu.guardrails.default == cpu.guardrails.default
    assert sorted(gpu.guardrails.routes.values()) == sorted(cpu.guardrails.routes.values())
