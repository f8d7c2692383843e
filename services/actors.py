"""The cluster-wide singletons of llm-fleet (the key registry, the quota keeper): named,
detached Ray actors that the first router replica to ask starts and that outlive them all,
as Ray Train's state actor does. `fleet down` stops them."""

from __future__ import annotations

import contextlib
from typing import Any

NAMESPACE = "llm-fleet"
# Ray's resource on the head node only.
HEAD_NODE_RESOURCE = "node:__internal_head__"


def open_singleton(cls: type, name: str, *args: Any, on_head_node: bool = False) -> Any:
    """The handle of the actor ``name``, started from ``cls(*args)`` if it is not running."""
    import ray

    options: dict[str, Any] = {
        "name": name,
        "namespace": NAMESPACE,
        "get_if_exists": True,
        "lifetime": "detached",
        # Not inside the caller's placement group, if it has one.
        "scheduling_strategy": "DEFAULT",
        "num_cpus": 0,
        "max_restarts": -1,
    }
    if on_head_node:
        options["resources"] = {HEAD_NODE_RESOURCE: 0.001}
    return ray.remote(cls).options(**options).remote(*args)


def stop_singleton(name: str) -> None:
    import ray

    with contextlib.suppress(ValueError):  # none running
        ray.kill(ray.get_actor(name, namespace=NAMESPACE))
