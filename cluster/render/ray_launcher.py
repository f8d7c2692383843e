"""A cluster config as a Ray cluster launcher file (`ray up`) for VMs on AWS.

Node types come from the same groups as the KubeRay worker groups; the launcher starts
Ray on each node with its type's ``resources`` (custom resources and
``accelerator_type:<X>`` included), so the models' placement matches the machines.
"""

from __future__ import annotations

import math
from typing import Any

import yaml

from cluster.config.schema import ClusterConfig
from cluster.render.groups import NodeGroup, node_groups
from cluster.render.kuberay import GCS_PORT, header

REGION = "us-west-2"
HEAD_INSTANCE = ("m6i.4xlarge", 16)
# (accelerator type, GPUs per instance) -> (instance type, vCPUs), smallest first.
GPU_INSTANCES: dict[str, list[tuple[int, str, int]]] = {
    "A10G": [(1, "g5.4xlarge", 16), (4, "g5.12xlarge", 48), (8, "g5.48xlarge", 192)],
    "L4": [(1, "g6.4xlarge", 16), (4, "g6.12xlarge", 48), (8, "g6.48xlarge", 192)],
    "A100": [(8, "p4d.24xlarge", 96)],
    "H100": [(8, "p5.48xlarge", 192)],
}
CPU_INSTANCE = ("m6i.8xlarge", 32)
PROJECT_DIR = "~/llm-fleet"


class UnknownInstanceError(ValueError):
    """No AWS instance type is known for a group's accelerator and GPU count."""


def instance_for(group: NodeGroup) -> tuple[str, int, int]:
    """(instance type, GPUs, vCPUs) of the smallest instance holding one replica."""
    if not group.gpus:
        return CPU_INSTANCE[0], 0, CPU_INSTANCE[1]
    for gpus, instance, cpus in GPU_INSTANCES.get(group.accelerator_type or "A10G", []):
        if gpus >= group.gpus:
            return instance, gpus, cpus
    raise UnknownInstanceError(
        f"worker group {group.name}: no AWS instance with {group.gpus} "
        f"{group.accelerator_type} GPUs is known"
    )


def node_type(group: NodeGroup) -> dict[str, Any]:
    instance, gpus, cpus = instance_for(group)
    replicas_per_node = gpus // group.gpus if group.gpus else 1
    resources: dict[str, Any] = {"CPU": cpus, "GPU": gpus}
    # Custom resources scale with the replicas one instance holds; the accelerator
    # marker is 1 per node, as Ray itself sets it.
    for name, amount in group.custom.items():
        marker = name.startswith("accelerator_type:")
        resources[name] = amount if marker else amount * replicas_per_node
    return {
        "node_config": {"InstanceType": instance},
        "resources": resources,
        "min_workers": math.ceil(group.min_replicas / replicas_per_node),
        "max_workers": math.ceil(group.max_replicas / replicas_per_node),
    }


def render_launcher(config: ClusterConfig) -> dict[str, Any]:
    groups = node_groups(config)
    workers = {group.name: node_type(group) for group in groups}
    head_instance, head_cpus = HEAD_INSTANCE
    metrics_port = config.telemetry.metrics.port
    return {
        "cluster_name": config.name,
        "max_workers": sum(node["max_workers"] for node in workers.values()),
        "upscaling_speed": 1.0,
        "idle_timeout_minutes": 10,
        "provider": {"type": "aws", "region": REGION, "cache_stopped_nodes": False},
        "auth": {"ssh_user": "ubuntu"},
        "docker": {
            "image": config.kubernetes.image,
            "container_name": "ray_container",
            "pull_before_run": True,
            "run_options": [
                "--ulimit nofile=65536:65536",
                f"--shm-size={config.kubernetes.shm_gib}g",
            ],
        },
        "available_node_types": {
            "head": {
                "node_config": {"InstanceType": head_instance},
                "resources": {"CPU": head_cpus, "GPU": 0},
                "min_workers": 0,
                "max_workers": 0,
            },
            **workers,
        },
        "head_node_type": "head",
        # `ray up` runs from the repository root: the project is copied to every node.
        "file_mounts": {PROJECT_DIR: "."},
        "setup_commands": [f"cd {PROJECT_DIR} && pip install --quiet '.[gpu]'"],
        "head_start_ray_commands": [
            "ray stop",
            f"ray start --head --port={GCS_PORT} --dashboard-host=0.0.0.0 --num-gpus=0"
            f" --metrics-export-port={metrics_port}"
            " --autoscaling-config=~/ray_bootstrap_config.yaml",
        ],
        # The launcher passes each node type's `resources` (custom ones included) to
        # this `ray start`, so no --resources flag is repeated here.
        "worker_start_ray_commands": [
            "ray stop",
            f"ray start --address=$RAY_HEAD_IP:{GCS_PORT} --metrics-export-port={metrics_port}",
        ],
    }


def render_launcher_yaml(config: ClusterConfig, config_path: str = "<file>") -> str:
    body = yaml.safe_dump(render_launcher(config), sort_keys=False, width=100)
    return header(config_path, "launcher") + body
