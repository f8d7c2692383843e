"""`fleet up` names a model no node can hold, instead of waiting for resources forever."""

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster import launcher
from cluster.capacity import replica_needs, shortfalls
from cluster.cli import main
from cluster.config import parse_config
from cluster.config.schema import ClusterConfig

runner = CliRunner()

GPU_CONFIG = """
device: gpu
ray: {num_cpus: null}
models:
  - name: mistral
    source: mistralai/Mistral-7B-Instruct-v0.2
    resources: {cpus_per_worker: 4, accelerator_type: A10G}
  - name: mixtral
    source: mistralai/Mixtral-8x7B-Instruct-v0.1
    engine: {tensor_parallel_size: 4}
"""
CPU_NODE = {"CPU": 8.0, "memory": 2e10, "node:10.0.0.1": 1.0}
A10G_NODE = {"CPU": 48.0, "GPU": 4.0, "accelerator_type:A10G": 1.0}


def test_one_replica_needs_all_its_workers_bundles_on_one_node() -> None:
    config = parse_config(GPU_CONFIG)

    assert replica_needs(config.model("mistral"), config) == {
        "CPU": 4.0,
        "GPU": 1.0,
        "accelerator_type:A10G": 0.001,
    }
    assert replica_needs(config.model("mixtral"), config) == {"CPU": 4.0, "GPU": 4.0}


def test_a_model_fits_when_one_node_holds_a_whole_replica() -> None:
    config = parse_config(GPU_CONFIG)

    assert shortfalls(config, [CPU_NODE, A10G_NODE]) == []
    # Two GPUs on each of two nodes do not hold a 4-way tensor-parallel replica.
    split = [{"CPU": 16.0, "GPU": 2.0, "accelerator_type:A10G": 1.0}] * 2
    (short,) = shortfalls(config, split)
    assert short.model == "mixtral"
    assert short.message() == (
        "mixtral: one replica needs CPU 4, GPU 4 on one node; no node of this Ray cluster "
        "has that (the roomiest node offers CPU 16, GPU 2)"
    )


def test_a_gpu_model_on_a_cpu_machine_is_named_with_what_the_machine_has() -> None:
    config = parse_config(GPU_CONFIG)

    messages = [short.message() for short in shortfalls(config, [CPU_NODE])]

    assert messages[0] == (
        "mistral: one replica needs CPU 4, GPU 1, type A10G on one node; no node of this "
        "Ray cluster has that (the roomiest node offers CPU 8, GPU 0, not type A10G)"
    )
    assert shortfalls(config, [])[0].message().endswith("(it has no node)")


@pytest.fixture
def no_ray(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> list[str]:
    """`fleet up` with Ray's side replaced: the launcher's calls are recorded."""
    calls: list[str] = []
    monkeypatch.setattr(main, "STATE_FILE", tmp_path / "state.json")
    monkeypatch.setattr(launcher, "running_ray_address", lambda joined=None: None)
    monkeypatch.setattr(launcher, "start_local_head", lambda *_: calls.append("start"))
    monkeypatch.setattr(launcher, "connect", lambda address: calls.append("connect"))
    monkeypatch.setattr(main, "_down", lambda: calls.append("down"))
    monkeypatch.setattr("cluster.capacity.node_resources", lambda: [CPU_NODE])
    monkeypatch.setattr(main, "_first_key", lambda config: None)

    def deploy(config: ClusterConfig, **_: object) -> launcher.Endpoints:
        calls.append("deploy")
        return launcher.Endpoints.of(config)

    monkeypatch.setattr(launcher, "deploy", deploy)
    return calls


def test_up_refuses_a_gpu_config_on_a_local_ray_without_gpus(
    no_ray: list[str], tmp_path: Path
) -> None:
    config = tmp_path / "gpu.yaml"
    config.write_text(GPU_CONFIG)

    result = runner.invoke(main.app, ["up", "--config", str(config)])

    assert result.exit_code != 0
    assert "starting a local Ray instance (every core of this machine)" in result.output
    assert "mistral: one replica needs CPU 4, GPU 1" in result.output
    assert "mixtral: one replica needs CPU 4, GPU 4" in result.output
    assert "join a cluster that has one (--address)" in result.output
    assert no_ray == ["start", "connect", "down"]  # the Ray it started is stopped again


def test_up_on_a_joined_cluster_warns_and_deploys(
    no_ray: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # An autoscaler may still add the node: say which models wait for it, and go on.
    monkeypatch.setattr(launcher, "running_ray_address", lambda joined=None: "auto")
    config = tmp_path / "gpu.yaml"
    config.write_text(GPU_CONFIG)

    result = runner.invoke(main.app, ["up", "--config", str(config)])

    assert "WARNING: mistral: one replica needs CPU 4, GPU 1, type A10G" in result.output
    assert "its replicas wait until the cluster gains one" in result.output
    assert result.exit_code == 0, result.output
    assert no_ray == ["connect", "deploy"]
