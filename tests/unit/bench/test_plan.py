"""What the comparison measures, read from its config: the engine and the routes."""

from pathlib import Path

import pytest

from cluster.config import load_config, parse_config
from loadtests.bench.plan import RULES_POLICY, UNGUARDED_POLICY, engine_of, route_bound_to

CONFIGS = Path(__file__).resolve().parents[3] / "loadtests" / "configs"


@pytest.mark.parametrize(
    ("name", "model"), [("bench.yaml", "tiny-qwen2"), ("bench-gpu.yaml", "mistral-7b-instruct")]
)
def test_each_bench_config_names_a_route_without_guards_and_one_with_rules(
    name: str, model: str
) -> None:
    config = load_config(CONFIGS / name)

    assert route_bound_to(config, UNGUARDED_POLICY) == f"{model}-unguarded"
    assert route_bound_to(config, RULES_POLICY) == f"{model}-rules"


def test_a_config_without_such_a_route_is_refused_by_name() -> None:
    config = parse_config(
        "models:\n  - name: m\n    source: org/m\n"
        "guardrails:\n  policies:\n    - name: rules\n      checks: [{type: secrets}]\n"
        "  routes: {m: rules}\n"
    )

    with pytest.raises(SystemExit, match="no route is bound to the guard policy 'rules'"):
        route_bound_to(config, RULES_POLICY)


def test_every_system_gets_the_configs_engine_and_placement() -> None:
    engine = engine_of(load_config(CONFIGS / "bench-gpu.yaml"))

    assert engine.model == "mistral-7b-instruct"
    assert engine.source == "mistralai/Mistral-7B-Instruct-v0.2"
    assert engine.kwargs["dtype"] == "bfloat16"
    assert engine.bundles == [{"CPU": 1, "GPU": 1}]
