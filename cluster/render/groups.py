"""The GPU node groups a cluster config needs, shared by the KubeRay and VM renderers.

One group per distinct (accelerator type, GPUs per replica, custom resource names): a
node (pod) of a group offers exactly one replica's worth, because tensor-parallel shards
must share a node (placement group STRICT_PACK), and models pinned to different custom
resources must not land on each other's nodes.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from cluster.config.loader import ConfigError
from cluster.config.schema import ClusterConfig, ModelConfig

ACCELERATOR_RESOURCE_PREFIX = "accelerator_type:"


@dataclass(frozen=True)
class NodeGroup:
    """One worker group: what each node offers and how many nodes may run."""

    name: str
    accelerator_type: str | None
    gpus: int
    cpus: int
    custom: dict[str, int]
    """Custom Ray resources per node, ``accelerator_type:<X>`` included."""
    min_replicas: int
    max_replicas: int
    models: tuple[str, ...]


def gpus_per_replica(model: ModelConfig, config: ClusterConfig) -> int:
    per_worker = model.resources.gpus_per_worker
    if per_worker is None:
        per_worker = 1 if config.device == "gpu" else 0
    return math.ceil(per_worker * model.engine.tensor_parallel_size)


def replica_bounds(model: ModelConfig) -> tuple[int, int]:
    """Nodes one model needs at least (it never starts with none) and at most."""
    if model.autoscaling is None:
        fixed = model.replicas or 1
        return fixed, fixed
    return max(model.autoscaling.min_replicas, 1), model.autoscaling.max_replicas


def _group_key(model: ModelConfig, config: ClusterConfig) -> tuple:
    return (
        model.resources.accelerator_type or "",
        gpus_per_replica(model, config),
        tuple(sorted(model.resources.custom)),
    )


def _group_name(key: tuple) -> str:
    accelerator, gpus, custom = key
    parts = [accelerator or ("gpu" if gpus else "cpu"), f"{gpus}gpu" if gpus else "", *custom]
    name = "-".join(part for part in parts if part).lower()
    return re.sub(r"[^a-z0-9-]", "-", name)[:63].strip("-")


def node_groups(config: ClusterConfig) -> list[NodeGroup]:
    """The worker groups of ``config``, sorted by name; bounds sum the models' replicas
    (one node per replica) unless ``kubernetes.worker_groups`` overrides them."""
    members: dict[tuple, list[ModelConfig]] = {}
    for model in config.models:
        members.setdefault(_group_key(model, config), []).append(model)
    groups = [_node_group(key, models, config) for key, models in members.items()]
    unknown = sorted(config.kubernetes.worker_groups.keys() - {group.name for group in groups})
    if unknown:
        raise ConfigError(
            f"kubernetes.worker_groups: {', '.join(unknown)} is no worker group of this "
            f"config; its groups: {', '.join(sorted(group.name for group in groups))}"
        )
    return sorted(groups, key=lambda group: group.name)


def _node_group(key: tuple, models: list[ModelConfig], config: ClusterConfig) -> NodeGroup:
    accelerator, gpus, _ = key
    name = _group_name(key)
    tp_sizes = [model.engine.tensor_parallel_size for model in models]
    cpus = max(
        math.ceil(model.resources.cpus_per_worker * tp)
        for model, tp in zip(models, tp_sizes, strict=True)
    )
    custom: dict[str, int] = {}
    for model, tp in zip(models, tp_sizes, strict=True):
        for resource, amount in model.resources.custom.items():
            custom[resource] = max(custom.get(resource, 0), math.ceil(amount * tp))
    if accelerator:
        custom[ACCELERATOR_RESOURCE_PREFIX + accelerator] = 1
    bounds = [replica_bounds(model) for model in models]
    override = config.kubernetes.worker_groups.get(name)
    minimum = sum(low for low, _ in bounds)
    maximum = sum(high for _, high in bounds)
    if override is not None:
        minimum = override.min_replicas if override.min_replicas is not None else minimum
        maximum = override.max_replicas if override.max_replicas is not None else maximum
    return NodeGroup(
        name=name,
        accelerator_type=accelerator or None,
        gpus=gpus,
        cpus=max(cpus, 1),
        custom=dict(sorted(custom.items())),
        min_replicas=min(minimum, maximum),
        max_replicas=maximum,
        models=tuple(model.name for model in models),
    )
