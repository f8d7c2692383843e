"""`fleet status` reads Serve's details and the router's answers into one report."""

from cluster.cli.operations import status_lines
from cluster.config import parse_config
from cluster.report import fleet_status
from cluster.serve_config import serve_deploy_config

CONFIG = parse_config(
    """
models:
  - name: moe
    source: org/moe
    engine: {tensor_parallel_size: 2}
    autoscaling: {min_replicas: 1, max_replicas: 3, target_ongoing_requests: 4}
    resources: {cpus_per_worker: 2, custom: {pool-a: 1}}
  - name: small
    source: org/small
    replicas: 2
    lora: {adapters: [{name: tuned, path: /adapters/tuned}]}
routes:
  - name: ab
    variants:
      - {name: control, model: moe, weight: 75}
      - {name: treatment, model: small, weight: 25}
"""
)


def _replica(state: str, node: str = "10.0.0.1") -> dict:
    return {"replica_id": state, "state": state, "start_time_s": 0, "node_ip": node}


def _details() -> dict:
    apps = {app["name"]: app for app in serve_deploy_config(CONFIG)["applications"]}
    return {
        "applications": {
            "model-moe": {
                "status": "RUNNING",
                "deployed_app_config": apps["model-moe"],
                "deployments": {
                    "model-moe": {
                        "status": "UPSCALING",
                        "target_num_replicas": 2,
                        "replicas": [_replica("RUNNING", "10.0.0.2"), _replica("STARTING")],
                    }
                },
            },
            "model-small": {
                "status": "DEPLOY_FAILED",
                "deployed_app_config": apps["model-small"],
                "deployments": {
                    "model-small": {
                        "status": "UNHEALTHY",
                        "message": "replica died",
                        "target_num_replicas": 2,
                        "replicas": [_replica("RUNNING")],
                    }
                },
            },
            "llm-fleet": {
                "status": "RUNNING",
                "deployed_app_config": apps["llm-fleet"],
                "deployments": {
                    "router": {
                        "status": "HEALTHY",
                        "target_num_replicas": 1,
                        "replicas": [_replica("RUNNING")],
                    }
                },
            },
        }
    }


def test_models_report_replicas_scaling_shards_and_load() -> None:
    routes = [CONFIG.routes[0].model_dump(mode="json")]
    report = fleet_status(_details(), routes=routes, ongoing={"moe": 3})
    assert report.status == "DEPLOY_FAILED"
    moe, small = report.models
    assert (moe.replicas.running, moe.replicas.starting, moe.replicas.target) == (1, 1, 2)
    assert moe.scaling["mode"] == "autoscaling"
    assert moe.scaling["max_replicas"] == 3
    assert moe.tensor_parallel_size == 2
    assert moe.resources_per_replica == {"CPU": 4, "pool-a": 2}
    assert moe.ongoing_requests == 3
    assert moe.nodes == ["10.0.0.1", "10.0.0.2"]
    assert small.replicas.failed == 1
    assert small.scaling == {"mode": "fixed", "replicas": 2}
    assert small.ongoing_requests == 0
    assert [service.name for service in report.services] == ["router"]


def test_the_text_report_shows_weights_and_problems() -> None:
    routes = [CONFIG.routes[0].model_dump(mode="json")]
    text = "\n".join(status_lines(fleet_status(_details(), routes=routes, ongoing=None)))
    assert "auto 1-3 @4" in text
    assert "1/2 running, 1 failed" in text
    assert "! small: replica died" in text
    assert "75.0%" in text


def test_serve_status_enums_read_as_their_names() -> None:
    from ray.serve._private.common import DeploymentStatus

    details = _details()
    details["applications"]["model-moe"]["deployments"]["model-moe"]["status"] = (
        DeploymentStatus.HEALTHY
    )
    moe = fleet_status(details, routes=[], ongoing=None).models[0]
    assert moe.status == "HEALTHY" and type(moe.status) is str


def test_a_models_adapters_are_listed() -> None:
    report = fleet_status(_details(), routes=[], ongoing={})
    moe, small = report.models
    assert (moe.adapters, small.adapters) == ([], ["small:tuned"])
    assert "  + small adapters: small:tuned" in status_lines(report)
