"""Which models can take a request now, seen from Serve's controller and Ray's node table.

Ray Serve notices a replica whose node died only when its health check times out (about
a minute for LLM deployments), and until then its handles keep sending requests there,
where they wait forever; once it knows, a model left with no replica makes requests
queue until one starts. Neither may hang a caller: the router polls the controller and
the live nodes, skips a model with no running replica on a live node (falling back per
route, or failing at once with 503), and abandons the calls it had sent to that model.

A model scaled to zero is not unreachable: its first request makes Serve start one.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

logger = logging.getLogger(__name__)

_BROKEN = {"UNHEALTHY", "DEPLOY_FAILED"}


def unreachable_models(
    details: Mapping[str, Any], live_nodes: set[str], apps: Mapping[str, str]
) -> dict[str, str]:
    """``model -> why`` for each model (of ``apps``: model -> its Serve application and
    deployment name) with no running replica on a live node, unless it is merely scaled
    to zero or still starting for the first time."""
    unreachable: dict[str, str] = {}
    applications = details.get("applications") or {}
    for model, app in apps.items():
        deployment = ((applications.get(app) or {}).get("deployments") or {}).get(app)
        if deployment is None:
            continue
        replicas = deployment.get("replicas") or []
        if any(r["state"] == "RUNNING" and r.get("node_id") in live_nodes for r in replicas):
            continue
        lost = sorted(
            {
                r.get("node_ip") or r["node_id"]
                for r in replicas
                if r.get("node_id") and r["node_id"] not in live_nodes
            }
        )
        if lost:
            unreachable[model] = f"no running replica: node {', '.join(lost)} is down"
        elif deployment.get("status") in _BROKEN:
            message = (deployment.get("message") or "").split(". ")[0]
            unreachable[model] = (
                f"no healthy replica ({message})" if message else "no healthy replica"
            )
    return unreachable


class ModelAvailability:
    """The models the router must not wait for, and why."""

    def __init__(self) -> None:
        self._unreachable: dict[str, str] = {}

    def reason(self, model: str) -> str | None:
        return self._unreachable.get(model)

    def update(self, unreachable: dict[str, str]) -> dict[str, str]:
        """Take the latest view; returns the models that just became unreachable."""
        newly = {m: why for m, why in unreachable.items() if m not in self._unreachable}
        for model in self._unreachable.keys() - unreachable.keys():
            logger.warning("model %s is reachable again", model)
        for model, why in newly.items():
            logger.warning("model %s is unreachable: %s", model, why)
        self._unreachable = dict(unreachable)
        return newly

    @property
    def unreachable(self) -> dict[str, str]:
        return dict(self._unreachable)


class ServeClusterView:
    """Serve's instance details and the ids of the live Ray nodes, fetched without ever
    blocking the router's event loop (Ray's synchronous calls run in a thread)."""

    def __init__(self) -> None:
        self._controller: Any = None

    async def __call__(self) -> tuple[dict[str, Any], set[str]]:
        import ray

        if self._controller is None:
            from ray.serve._private.constants import SERVE_CONTROLLER_NAME, SERVE_NAMESPACE

            self._controller = await asyncio.to_thread(
                ray.get_actor, SERVE_CONTROLLER_NAME, namespace=SERVE_NAMESPACE
            )
        try:
            details = await self._controller.get_serve_instance_details.remote()
        except Exception:
            self._controller = None  # a restarted controller is looked up again
            raise
        nodes = await asyncio.to_thread(ray.nodes)
        return details, {node["NodeID"] for node in nodes if node.get("Alive")}


async def watch_availability(
    availability: ModelAvailability,
    apps: Callable[[], Mapping[str, str]],
    on_unreachable: Callable[[str, str], None],
    *,
    period_s: float = 1.0,
    fetch: Callable[[], Awaitable[tuple[dict[str, Any], set[str]]]] | None = None,
) -> None:
    """Refresh ``availability`` every ``period_s`` until cancelled."""
    fetch = fetch or ServeClusterView()
    while True:
        try:
            details, live_nodes = await fetch()
            newly = availability.update(unreachable_models(details, live_nodes, apps()))
            for model, why in newly.items():
                on_unreachable(model, why)
        except asyncio.CancelledError:
            raise
        except Exception as error:  # a controller restart must not end the watch
            with contextlib.suppress(Exception):
                logger.warning("availability check failed: %s", error)
        await asyncio.sleep(period_s)
