"""The RayService rendered from deploy/configs/gpu.yaml: checked in, valid, placeable."""

from __future__ import annotations

import copy
from typing import Any

import jsonschema
import pytest
import yaml
from ray.serve.schema import ServeDeploySchema

from cluster.config import ClusterConfig, ConfigError
from cluster.config.kubernetes import KubernetesConfig, WorkerGroupOverride
from cluster.render.kuberay import render_rayservice, render_yaml
from cluster.serve_config import serve_deploy_config
from tests.unit.deploy.conftest import GPU_CONFIG, ROOT

CHECKED_IN = ROOT / "deploy" / "kuberay" / "rayservice-gpu.yaml"
SCHEMA = ROOT / "deploy" / "schemas" / "rayservice-v1.openapi.yaml"
REGENERATE = f"fleet render kuberay -c {GPU_CONFIG} -o deploy/kuberay/rayservice-gpu.yaml"


def strict(schema: dict[str, Any]) -> dict[str, Any]:
    """The schema with unknown fields refused wherever properties are listed, as the API
    server's strict field validation does (structural schemas otherwise prune them)."""
    schema = copy.deepcopy(schema)

    def walk(node: object) -> None:
        if isinstance(node, dict):
            if "properties" in node and not node.get("x-kubernetes-preserve-unknown-fields"):
                node.setdefault("additionalProperties", False)
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for value in node:
                walk(value)

    walk(schema)
    return schema


def crd_errors(manifest: dict[str, Any]) -> list[str]:
    validator = jsonschema.Draft7Validator(strict(yaml.safe_load(SCHEMA.read_text())))
    return [
        f"{'.'.join(map(str, error.absolute_path))}: {error.message}"
        for error in validator.iter_errors(manifest)
    ]


def groups_by_name(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    specs = manifest["spec"]["rayClusterConfig"]["workerGroupSpecs"]
    return {group["groupName"]: group for group in specs}


def test_checked_in_rayservice_is_current(gpu_config: ClusterConfig) -> None:
    rendered = render_yaml(gpu_config, GPU_CONFIG)
    assert CHECKED_IN.read_text() == rendered, (
        f"{CHECKED_IN.relative_to(ROOT)} is stale; regenerate it with `{REGENERATE}`"
    )


def test_checked_in_rayservice_is_machine_independent() -> None:
    text = CHECKED_IN.read_text()
    assert "/work" not in text and "/home" not in text


def test_rayservice_matches_the_crd_schema(gpu_config: ClusterConfig) -> None:
    assert crd_errors(render_rayservice(gpu_config)) == []


def test_schema_check_refuses_unknown_and_mistyped_fields(gpu_config: ClusterConfig) -> None:
    manifest = render_rayservice(gpu_config)
    group = manifest["spec"]["rayClusterConfig"]["workerGroupSpecs"][0]
    group["maxReplica"] = 3
    group["minReplicas"] = "1"
    errors = "\n".join(crd_errors(manifest))
    assert "'maxReplica' was unexpected" in errors
    assert "'1' is not of type 'integer'" in errors


def test_serve_config_round_trips_into_serve_schema(gpu_config: ClusterConfig) -> None:
    manifest = render_rayservice(gpu_config)
    serve_config = yaml.safe_load(manifest["spec"]["serveConfigV2"])
    assert serve_config == serve_deploy_config(gpu_config)
    parsed = ServeDeploySchema.model_validate(serve_config)
    assert {app.name for app in parsed.applications} >= {"model-mixtral-8x7b-instruct"}


def test_tensor_parallel_replica_gets_all_its_gpus_on_one_pod(gpu_config: ClusterConfig) -> None:
    group = groups_by_name(render_rayservice(gpu_config))["a100-4gpu"]
    container = group["template"]["spec"]["containers"][0]
    assert group["rayStartParams"]["num-gpus"] == "4"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "4"
    assert group["template"]["metadata"]["annotations"]["llm-fleet/models"] == (
        "mixtral-8x7b-instruct"
    )
    # max_replicas 2 of the autoscaled model: one pod per replica.
    assert (group["minReplicas"], group["maxReplicas"]) == (1, 2)


def test_head_offers_no_gpus_and_serves_http_and_grpc(gpu_config: ClusterConfig) -> None:
    spec = render_rayservice(gpu_config)["spec"]
    head = spec["rayClusterConfig"]["headGroupSpec"]
    assert head["rayStartParams"] == {
        "dashboard-host": "0.0.0.0",
        "num-gpus": "0",
        "metrics-export-port": "8080",
    }
    ports = {
        p["name"]: p["containerPort"] for p in head["template"]["spec"]["containers"][0]["ports"]
    }
    assert ports == {
        "gcs-server": 6379,
        "dashboard": 8265,
        "client": 10001,
        "serve": 8000,
        "grpc": 9000,
        "grpc-tls": 9443,
        "metrics": 8080,
    }
    # gpu.yaml has grpc.tls: plaintext gRPC stays off the (possibly public) serve service.
    assert [p["port"] for p in spec["serveService"]["spec"]["ports"]] == [8000]


def test_every_pod_gets_the_telemetry_settings(gpu_config: ClusterConfig) -> None:
    spec = render_rayservice(gpu_config)["spec"]["rayClusterConfig"]
    pods = [spec["headGroupSpec"], *spec["workerGroupSpecs"]]
    for pod in pods:
        env = {
            item["name"]: item.get("value")
            for item in pod["template"]["spec"]["containers"][0]["env"]
        }
        assert (
            env["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "http://otel-collector.observability:4317"
        )
        assert env["RAY_SERVE_TRACING_EXPORTER_IMPORT_PATH"] == (
            "services.telemetry.tracing:span_processors"
        )
        assert pod["rayStartParams"]["metrics-export-port"] == "8080"


def test_custom_and_accelerator_resources_reach_ray_start(pooled_config: ClusterConfig) -> None:
    groups = groups_by_name(render_rayservice(pooled_config))
    # Per pod: pool-a 1 per shard x 4 shards, and Ray's accelerator marker.
    assert groups["a100-4gpu-pool-a"]["rayStartParams"]["resources"] == (
        '"{\\"accelerator_type:A100\\": 1, \\"pool-a\\": 4}"'
    )
    assert "pool-a" not in groups["l4-1gpu"]["rayStartParams"]["resources"]


def test_ray_autoscaler_reads_the_groups_as_rendered(pooled_config: ClusterConfig) -> None:
    """Ray's own KubeRay autoscaler parser stands in for the pod-template schema."""
    from ray.autoscaler._private.kuberay.autoscaling_config import (
        _derive_autoscaling_config_from_ray_cr,
    )

    manifest = render_rayservice(pooled_config)
    cluster = {"metadata": manifest["metadata"], "spec": manifest["spec"]["rayClusterConfig"]}
    node_types = _derive_autoscaling_config_from_ray_cr(cluster)["available_node_types"]
    assert node_types["a100-4gpu-pool-a"]["resources"] == {
        "CPU": 16,
        "GPU": 4,
        "memory": 192 * 1024**3,
        "accelerator_type:A100": 1,
        "pool-a": 4,
    }
    assert node_types["headgroup"]["resources"]["GPU"] == 0


def test_an_override_of_an_unknown_worker_group_is_refused(gpu_config: ClusterConfig) -> None:
    wrong = gpu_config.model_copy(
        update={
            "kubernetes": KubernetesConfig(
                worker_groups={"no-such-group": WorkerGroupOverride(max_replicas=2)}
            )
        }
    )
    with pytest.raises(ConfigError, match="no-such-group is no worker group"):
        render_rayservice(wrong)
