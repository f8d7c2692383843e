"""The rollout plan names what a config change restarts, scales and reloads."""

import pytest

from cluster.config import parse_config
from cluster.config.schema import ClusterConfig
from cluster.rollout import EndpointChangeError, _check_endpoints, _check_key_file, plan_rollout
from cluster.serve_config import serve_deploy_config
from services.auth.config import TenantPolicy

BASE = parse_config(
    """
models:
  - {name: a, source: org/a, replicas: 1}
  - {name: b, source: org/b, replicas: 1}
routes:
  - name: ab
    variants:
      - {name: control, model: a, weight: 90}
      - {name: treatment, model: b, weight: 10}
"""
)


def _with_model(config: ClusterConfig, name: str, **update: object) -> ClusterConfig:
    models = [m.model_copy(update=update) if m.name == name else m for m in config.models]
    return config.model_copy(update={"models": models})


def _plan(before: ClusterConfig, after: ClusterConfig):
    return plan_rollout(serve_deploy_config(before), serve_deploy_config(after))


def test_the_same_config_changes_nothing() -> None:
    plan = _plan(BASE, BASE)
    assert plan.is_empty
    assert plan.lines() == ["nothing to change: the cluster already runs this config"]


def test_scaling_a_model_scales_it_in_place() -> None:
    plan = _plan(BASE, _with_model(BASE, "a", replicas=3))
    assert plan.rescaled == ["model-a"]
    assert not plan.restarted
    assert not plan.reloaded


def test_an_engine_change_restarts_that_model_only() -> None:
    engine = BASE.model("b").engine.model_copy(update={"max_num_seqs": 8})
    plan = _plan(BASE, _with_model(BASE, "b", engine=engine))
    assert plan.restarted == ["model-b"]
    assert not plan.rescaled


def test_new_weights_reload_the_router_live() -> None:
    route = BASE.routes[0]
    variants = [v.model_copy(update={"weight": 50}) for v in route.variants]
    after = BASE.model_copy(update={"routes": [route.model_copy(update={"variants": variants})]})
    plan = _plan(BASE, after)
    assert plan.touches_only_routes
    assert plan.reloaded


def test_adding_and_removing_models() -> None:
    added = BASE.model_copy(
        update={"models": [*BASE.models, BASE.model("a").model_copy(update={"name": "c"})]}
    )
    plan = _plan(BASE, added)
    assert plan.added == ["model-c"]
    assert plan.reloaded  # the router learns the new model
    assert _plan(added, BASE).removed == ["model-c"]


def test_the_proxies_cannot_move() -> None:
    moved = BASE.model_copy(update={"http": BASE.http.model_copy(update={"port": 8080})})
    with pytest.raises(EndpointChangeError, match="http.port"):
        _check_endpoints(serve_deploy_config(BASE), serve_deploy_config(moved))


def test_the_key_file_cannot_move_but_tenants_change_live() -> None:
    moved = BASE.model_copy(
        update={"auth": BASE.auth.model_copy(update={"keys_file": "/elsewhere/keys.json"})}
    )
    with pytest.raises(EndpointChangeError, match="auth.keys_file"):
        _check_key_file(serve_deploy_config(BASE), serve_deploy_config(moved))
    tenants = {"acme": TenantPolicy(max_tokens=16)}
    retuned = BASE.model_copy(update={"auth": BASE.auth.model_copy(update={"tenants": tenants})})
    _check_key_file(serve_deploy_config(BASE), serve_deploy_config(retuned))
    assert _plan(BASE, retuned).touches_only_routes
