"""Whether a Ray cluster has a node that can hold one replica of each model.

A replica's engine workers are placed together on one node (STRICT_PACK), so one node must
offer the sum of the replica's bundles. Where none does, Ray Serve waits for resources
without saying why, and ``fleet up`` would report "loading engine" until its timeout; a GPU
config on a machine without GPUs is the common case. This looks at each node's total
resources, one replica at a time: whether all models' replicas fit together is Ray's
scheduling to decide, and an autoscaler may still add nodes to a cluster that was joined.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from ray.llm._internal.serve.core.configs.accelerators import format_ray_accelerator_resource

from cluster.config.schema import ClusterConfig, ModelConfig
from cluster.models.llm_config import placement_bundles

# What Ray Serve LLM adds to each bundle of a model with an accelerator_type: a sliver of
# the node's "accelerator_type:<name>" resource, which only nodes of that type have.
_ACCELERATOR_SHARE = 0.001
_ACCELERATOR_PREFIX = format_ray_accelerator_resource("")


@dataclass(frozen=True)
class Shortfall:
    """A model of which no node can hold even one replica."""

    model: str
    needs: dict[str, float]
    """One replica's resources, on one node."""
    roomiest: dict[str, float]
    """What the node closest to it offers of those resources (none: no node at all)."""

    def message(self) -> str:
        offered = (
            f"the roomiest node offers {_amounts(self.roomiest)}"
            if self.roomiest
            else "it has no node"
        )
        return (
            f"{self.model}: one replica needs {_amounts(self.needs)} on one node; no node of "
            f"this Ray cluster has that ({offered})"
        )


def replica_needs(model: ModelConfig, config: ClusterConfig) -> dict[str, float]:
    """The resources one replica of ``model`` takes from its node."""
    needs: dict[str, float] = {}
    for bundle in placement_bundles(model, config):
        for name, amount in bundle.items():
            needs[name] = needs.get(name, 0.0) + amount
    if model.resources.accelerator_type:
        needs[format_ray_accelerator_resource(model.resources.accelerator_type)] = (
            _ACCELERATOR_SHARE
        )
    return {name: amount for name, amount in needs.items() if amount > 0}


def shortfalls(config: ClusterConfig, nodes: Sequence[Mapping[str, float]]) -> list[Shortfall]:
    """The models of ``config`` that fit on none of ``nodes`` (each node's total
    resources, as Ray reports them)."""
    found = []
    for model in config.models:
        needs = replica_needs(model, config)
        if not any(_fits(needs, node) for node in nodes):
            found.append(Shortfall(model.name, needs, _roomiest(needs, nodes)))
    return found


def node_resources() -> list[dict[str, float]]:
    """Every live node's total resources, on the connected Ray cluster."""
    import ray

    return [dict(node["Resources"]) for node in ray.nodes() if node.get("Alive")]


def _fits(needs: Mapping[str, float], node: Mapping[str, float]) -> bool:
    return all(node.get(name, 0.0) >= amount for name, amount in needs.items())


def _roomiest(needs: Mapping[str, float], nodes: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The node meeting the most of ``needs``, then with the most of them; {} without
    nodes."""

    def closeness(node: Mapping[str, float]) -> tuple[int, float]:
        met = sum(node.get(name, 0.0) >= amount for name, amount in needs.items())
        return met, sum(min(node.get(name, 0.0), amount) for name, amount in needs.items())

    if not nodes:
        return {}
    best = max(nodes, key=closeness)
    return {name: best.get(name, 0.0) for name in needs}


def _amounts(resources: Mapping[str, float]) -> str:
    parts = []
    for name, amount in resources.items():
        kind = name.removeprefix(_ACCELERATOR_PREFIX)
        if kind == name:
            parts.append(f"{name} {amount:g}")
        else:  # a node's accelerator type is a marker: it has it or not
            parts.append(f"type {kind}" if amount > 0 else f"not type {kind}")
    return ", ".join(parts)
