"""The Ray cluster launcher file rendered from deploy/configs/gpu.yaml."""

from __future__ import annotations

import copy

import yaml

from cluster.config import ClusterConfig
from cluster.render.ray_launcher import render_launcher, render_launcher_yaml
from tests.unit.deploy.conftest import GPU_CONFIG, ROOT

CHECKED_IN = ROOT / "deploy" / "vm" / "ray-cluster-gpu.yaml"
REGENERATE = f"fleet render launcher -c {GPU_CONFIG} -o deploy/vm/ray-cluster-gpu.yaml"


def test_checked_in_launcher_file_is_current(gpu_config: ClusterConfig) -> None:
    rendered = render_launcher_yaml(gpu_config, GPU_CONFIG)
    assert CHECKED_IN.read_text() == rendered, (
        f"{CHECKED_IN.relative_to(ROOT)} is stale; regenerate it with `{REGENERATE}`"
    )


def test_launcher_file_passes_rays_own_validation(gpu_config: ClusterConfig) -> None:
    """What `ray up` does first: merge the provider's defaults, validate with ray-schema."""
    from ray.autoscaler._private.util import prepare_config, validate_config

    config = yaml.safe_load(yaml.safe_dump(render_launcher(gpu_config)))
    validate_config(prepare_config(copy.deepcopy(config)))


def test_node_holds_a_whole_tensor_parallel_replica(gpu_config: ClusterConfig) -> None:
    node = render_launcher(gpu_config)["available_node_types"]["a100-4gpu"]
    assert node["resources"]["GPU"] >= 4
    assert node["resources"]["accelerator_type:A100"] == 1


def test_custom_resources_scale_with_replicas_per_node(pooled_config: ClusterConfig) -> None:
    node = render_launcher(pooled_config)["available_node_types"]["a100-4gpu-pool-a"]
    # p4d.24xlarge: 8 GPUs hold two TP=4 replicas, each needing pool-a 4.
    assert node["node_config"]["InstanceType"] == "p4d.24xlarge"
    assert node["resources"]["pool-a"] == 8
    assert node["max_workers"] == 1


def test_head_runs_no_models(gpu_config: ClusterConfig) -> None:
    launcher = render_launcher(gpu_config)
    assert launcher["available_node_types"]["head"]["resources"]["GPU"] == 0
    assert "--num-gpus=0" in launcher["head_start_ray_commands"][1]
