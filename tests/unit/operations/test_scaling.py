"""`fleet scale` rewrites one model's deployment override and nothing else."""

import pytest

from cluster.config import parse_config
from cluster.scaling import ScaleChange, ScaleError, scaled_override, with_scaled_model
from cluster.serve_config import serve_deploy_config

CONFIG = parse_config(
    """
models:
  - {name: a, source: org/a, replicas: 2}
  - name: b
    source: org/b
    autoscaling: {min_replicas: 1, max_replicas: 4, target_ongoing_requests: 8}
"""
)
DEPLOYED = serve_deploy_config(CONFIG)


def _override(deploy_config: dict, app: str) -> dict:
    return next(a for a in deploy_config["applications"] if a["name"] == app)["deployments"][0]


def test_a_fixed_count_replaces_autoscaling() -> None:
    changed, override = with_scaled_model(DEPLOYED, "b", ScaleChange(replicas=3))
    assert override["num_replicas"] == 3
    assert override["autoscaling_config"] is None
    assert _override(changed, "model-b") == override
    # Nothing else changes: no other application restarts or rescales.
    others = [a for a in changed["applications"] if a["name"] != "model-b"]
    assert others == [a for a in DEPLOYED["applications"] if a["name"] != "model-b"]


def test_partial_bounds_keep_the_running_ones() -> None:
    _, override = with_scaled_model(DEPLOYED, "b", ScaleChange(max_replicas=6))
    scaling = override["autoscaling_config"]
    assert (scaling["min_replicas"], scaling["max_replicas"]) == (1, 6)
    assert scaling["target_ongoing_requests"] == 8
    assert override["num_replicas"] is None


def test_autoscaling_a_fixed_model_starts_from_its_count() -> None:
    _, override = with_scaled_model(DEPLOYED, "a", ScaleChange(max_replicas=5))
    scaling = override["autoscaling_config"]
    assert (scaling["min_replicas"], scaling["max_replicas"]) == (2, 5)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (ScaleChange(replicas=2, max_replicas=3), "not both"),
        (ScaleChange(), "nothing to change"),
        (ScaleChange(replicas=0), "at least 1"),
        (ScaleChange(min_replicas=5), "exceeds max_replicas"),
        (ScaleChange(target_ongoing_requests=0), "target_ongoing_requests"),
    ],
)
def test_impossible_changes_are_refused(change: ScaleChange, message: str) -> None:
    with pytest.raises(ScaleError, match=message):
        with_scaled_model(DEPLOYED, "b", change)


def test_an_unknown_model_lists_the_served_ones() -> None:
    with pytest.raises(ScaleError, match="no model 'c' is served; served: a, b"):
        with_scaled_model(DEPLOYED, "c", ScaleChange(replicas=1))


def test_the_check_needs_no_cluster() -> None:
    with pytest.raises(ScaleError):
        scaled_override({}, ScaleChange())
