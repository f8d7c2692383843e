"""Adapters in the cluster config: names, limits, engine arguments and live delivery."""

import json
from pathlib import Path

import pytest

from cluster.app import served_models
from cluster.config import ConfigError, parse_config
from cluster.config.checks import check_adapters
from cluster.models.llm_config import engine_kwargs, to_llm_config
from cluster.rollout import plan_rollout
from cluster.rollout_adapters import adapter_stages
from cluster.serve_config import model_app_args, model_override, serve_deploy_config
from cluster.status import APP_NAME
from services.guardrails.config import GuardrailsConfig
from services.router.catalog import ModelCatalog

CONFIG_TEXT = """
models:
  - name: base
    source: org/base
    lora:
      max_rank: 8
      adapters:
        - {name: support, path: /adapters/support, description: support answers}
        - {name: remote, path: "s3://bucket/remote"}
  - {name: other, source: org/other}
routes:
  - name: ft-ab
    variants:
      - {name: base, model: base, weight: 50}
      - {name: tuned, model: "base:support", weight: 50}
"""
CONFIG = parse_config(CONFIG_TEXT)


def _with_adapters(*adapters: dict[str, str]) -> str:
    lines = "".join(f"        - {json.dumps(adapter)}\n" for adapter in adapters)
    return f"""
models:
  - name: base
    source: org/base
    lora:
      adapters:
{lines}"""


def test_adapters_are_served_names_routes_may_use() -> None:
    assert CONFIG.served_names() == {"base", "base:support", "base:remote", "other"}
    assert CONFIG.model("base").adapter_names == ["base:support", "base:remote"]


def test_a_route_to_an_unknown_adapter_names_it() -> None:
    text = CONFIG_TEXT.replace('"base:support"', '"base:nope"')
    with pytest.raises(ConfigError, match="base:nope"):
        parse_config(text)


@pytest.mark.parametrize(
    ("lora", "message"),
    [
        ("{max_rank: 12}", "max_rank"),
        ("{max_adapters_per_batch: 8, max_adapters_per_replica: 4}", "below"),
        ("{adapters: [{name: a, path: /x}, {name: a, path: /y}]}", "used twice"),
        ("{adapters: [{name: 'bad:name', path: /x}]}", "name"),
        ("{adapters: [{name: a}]}", "path"),
    ],
)
def test_bad_lora_settings_name_the_field(lora: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as error:
        parse_config(f"models:\n  - {{name: base, source: org/base, lora: {lora}}}\n")
    assert "lora" in str(error.value)


def test_the_engine_gets_vllm_multi_lora_limits() -> None:
    model = CONFIG.model("base")
    assert (
        engine_kwargs(model).items()
        >= {
            "enable_lora": True,
            "max_lora_rank": 8,
            "max_loras": 4,
            "max_cpu_loras": 16,
        }.items()
    )
    assert "enable_lora" not in engine_kwargs(CONFIG.model("other"))
    llm_config = to_llm_config(model, CONFIG)
    assert llm_config.lora_config.max_num_adapters_per_replica == 16
    assert to_llm_config(CONFIG.model("other"), CONFIG).lora_config is None


def test_adapters_travel_live_not_as_builder_arguments() -> None:
    model = CONFIG.model("base")
    args = model_app_args(model, CONFIG)
    assert "adapters" not in args["model"]["lora"]
    assert args["model"]["lora"]["max_rank"] == 8
    adapters = model_override(model)["user_config"]["adapters"]
    assert [adapter["name"] for adapter in adapters] == ["support", "remote"]
    assert "user_config" not in model_override(CONFIG.model("other"))


def test_adding_an_adapter_restarts_nothing() -> None:
    before = parse_config(_with_adapters({"name": "a", "path": "/a"}))
    after = parse_config(_with_adapters({"name": "a", "path": "/a"}, {"name": "b", "path": "/b"}))
    plan = plan_rollout(serve_deploy_config(before), serve_deploy_config(after))
    assert plan.readapted == ["model-base"]
    assert not plan.restarted and not plan.rescaled
    assert plan.reloaded  # the router learns the new name
    assert not plan.touches_only_routes
    assert any(line.startswith("adapters (live)") for line in plan.lines())


def test_staging_adds_to_replicas_before_the_router_and_removes_after() -> None:
    before = serve_deploy_config(parse_config(_with_adapters({"name": "old", "path": "/o"})))
    after = serve_deploy_config(parse_config(_with_adapters({"name": "new", "path": "/n"})))
    first, second = adapter_stages(before, after, ["model-base"])

    def adapters(config: dict) -> list[str]:
        app = next(a for a in config["applications"] if a["name"] == "model-base")
        return sorted(a["name"] for a in app["deployments"][0]["user_config"]["adapters"])

    def router(config: dict) -> dict:
        return next(a for a in config["applications"] if a["name"] == APP_NAME)

    assert adapters(first) == adapters(second) == ["new", "old"]
    assert router(first) == router(before)
    assert router(second) == router(after)
    assert adapters(after) == ["new"]
    assert adapter_stages(before, after, []) == []


def test_the_catalog_lists_adapters_with_their_base() -> None:
    served = served_models(CONFIG.model("base"))
    catalog = ModelCatalog(served)
    card = catalog.card("base:support")
    assert card["parent"] == "base"
    assert card["root"] == "/adapters/support"
    assert "parent" not in catalog.card("base")
    adapter = catalog.get("base:support")
    assert (adapter.deployment, adapter.app) == ("model-base", "model-base")
    assert adapter.tokenizer == catalog.get("base").tokenizer


def test_an_adapter_is_guarded_like_its_base_unless_named() -> None:
    guardrails = GuardrailsConfig.model_validate(
        {
            "policies": [
                {"name": "strict", "checks": [{"type": "pii", "entities": ["EMAIL"]}]},
                {"name": "lenient", "checks": [{"type": "secrets"}]},
            ],
            "routes": {"base": ["strict"], "base:special": ["lenient"]},
        }
    )
    names = [p.name for p in guardrails.policies_for(model="base:support")]
    assert names == ["strict"]
    assert [p.name for p in guardrails.policies_for(model="base:special")] == ["lenient"]


def _adapter(folder: Path, rank: int) -> str:
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA"}))
    return str(folder)


def test_local_adapters_are_checked_before_deploying(tmp_path: Path) -> None:
    good = _adapter(tmp_path / "good", 8)
    check_adapters(parse_config(_with_adapters({"name": "a", "path": good})), "c.yaml")
    too_big = _adapter(tmp_path / "big", 32)
    with pytest.raises(ConfigError, match=r"c.yaml: models\[0\].*adapters\[0\].path.*rank 32"):
        check_adapters(parse_config(_with_adapters({"name": "a", "path": too_big})), "c.yaml")
    with pytest.raises(ConfigError, match="no PEFT LoRA adapter at"):
        missing = str(tmp_path / "missing")
        check_adapters(parse_config(_with_adapters({"name": "a", "path": missing})), "c.yaml")
    # Remote adapters are the replicas' to download.
    check_adapters(parse_config(_with_adapters({"name": "a", "path": "gs://b/a"})), "c.yaml")


def test_a_relative_adapter_folder_is_next_to_the_config_file(tmp_path: Path) -> None:
    from cluster.config import load_config

    config_file = tmp_path / "cluster.yaml"
    config_file.write_text(_with_adapters({"name": "a", "path": "adapters/a"}))
    adapter = load_config(config_file).model("base").lora.adapters[0]
    assert adapter.path == str(tmp_path / "adapters" / "a")
