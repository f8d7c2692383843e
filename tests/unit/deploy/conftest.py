"""Shared loading for the rendered-manifest tests: the GPU config and a variant of it."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from cluster.config import ClusterConfig, load_config, parse_config

ROOT = Path(__file__).resolve().parents[3]
GPU_CONFIG = "deploy/configs/gpu.yaml"


@pytest.fixture(scope="session")
def gpu_config() -> ClusterConfig:
    return load_config(ROOT / GPU_CONFIG)


@pytest.fixture(scope="session")
def pooled_config() -> ClusterConfig:
    """gpu.yaml with Mixtral pinned to nodes that offer the custom resource ``pool-a``."""
    document = yaml.safe_load((ROOT / GPU_CONFIG).read_text())
    mixtral = next(m for m in document["models"] if m["name"] == "mixtral-8x7b-instruct")
    mixtral["resources"]["custom"] = {"pool-a": 1}
    return parse_config(yaml.safe_dump(document), "pooled.yaml")
