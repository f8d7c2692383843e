"""A cluster config becomes Serve's declarative config with scaling kept out of the
builder arguments, so scaling never restarts an engine."""

from ray.serve.schema import ServeDeploySchema

from cluster.config import parse_config
from cluster.models.llm_config import placement_bundles
from cluster.serve_config import applications, model_application, serve_deploy_config

CONFIG = parse_config(
    """
models:
  - name: fixed
    source: org/fixed
    replicas: 2
    max_ongoing_requests: 16
  - name: elastic
    source: org/elastic
    engine: {tensor_parallel_size: 2}
    autoscaling: {min_replicas: 0, max_replicas: 3, target_ongoing_requests: 4}
    resources: {custom: {pool-a: 1}}
"""
)


def test_the_deploy_config_is_valid_for_serve() -> None:
    ServeDeploySchema.model_validate(serve_deploy_config(CONFIG))


def test_scaling_is_a_deployment_override_not_a_builder_argument() -> None:
    fixed = model_application(CONFIG.model("fixed"), CONFIG)
    assert "replicas" not in fixed["args"]["model"]
    assert fixed["deployments"] == [
        {
            "name": "model-fixed",
            "num_replicas": 2,
            "autoscaling_config": None,
            "max_ongoing_requests": 16,
            "max_queued_requests": 64,
            "graceful_shutdown_timeout_s": 30.0,
        }
    ]


def test_autoscaling_starts_with_a_replica_and_clears_the_fixed_count() -> None:
    override = model_application(CONFIG.model("elastic"), CONFIG)["deployments"][0]
    assert override["num_replicas"] is None
    scaling = override["autoscaling_config"]
    assert (scaling["min_replicas"], scaling["initial_replicas"], scaling["max_replicas"]) == (
        0,
        1,
        3,
    )
    assert scaling["target_ongoing_requests"] == 4


def test_changing_scaling_leaves_every_builder_argument_alone() -> None:
    rescaled = CONFIG.model_copy(
        update={
            "models": [
                CONFIG.model("fixed").model_copy(update={"replicas": 5, "description": "new"}),
                CONFIG.model("elastic"),
            ]
        }
    )
    before = {app["name"]: app["args"] for app in applications(CONFIG)}
    after = {app["name"]: app["args"] for app in applications(rescaled)}
    assert before == after


def test_custom_resources_go_into_every_shard_bundle() -> None:
    bundles = placement_bundles(CONFIG.model("elastic"), CONFIG)
    assert bundles == [{"CPU": 1, "pool-a": 1}, {"CPU": 1, "pool-a": 1}]
