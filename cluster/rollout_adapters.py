"""The order in which a live adapter change reaches the replicas.

Serve applies a new declarative config to every application at once, so a router could
name a new adapter to a model replica that has not heard of it yet, or a replica could
forget an adapter the router still routes to. Staging avoids both: first the model
replicas learn every adapter of the old and the new config, then the router switches to
the new names, and only then do the replicas drop what is gone.
"""

from __future__ import annotations

from typing import Any

from cluster.config.schema import MODEL_APP_PREFIX
from cluster.status import APP_NAME


def _adapters(app: dict[str, Any]) -> list[dict[str, Any]]:
    deployments = app.get("deployments") or [{}]
    return list((deployments[0].get("user_config") or {}).get("adapters") or [])


def _with_adapters(app: dict[str, Any], adapters: list[dict[str, Any]]) -> dict[str, Any]:
    deployments = app.get("deployments") or [{"name": app["name"]}]
    first = {**deployments[0], "user_config": {"adapters": adapters}}
    return {**app, "deployments": [first, *deployments[1:]]}


def _merged(old: list[dict[str, Any]], new: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every adapter of ``new`` and those of ``old`` it no longer names."""
    named = {adapter["name"] for adapter in new}
    return [*new, *(adapter for adapter in old if adapter["name"] not in named)]


def adapter_stages(
    running: dict[str, Any], wanted: dict[str, Any], models: list[str]
) -> list[dict[str, Any]]:
    """The configs to deploy, in order, before ``wanted`` itself, when the adapters of the
    model applications ``models`` change (none when nothing is removed or added)."""
    if not models:
        return []
    before = {app["name"]: app for app in running.get("applications", [])}
    router_before = before.get(APP_NAME)

    def stage(router_config_of: dict[str, Any] | None) -> dict[str, Any]:
        applications = []
        for app in wanted["applications"]:
            if app["name"] in models and app["name"].startswith(MODEL_APP_PREFIX):
                old = before.get(app["name"], {})
                app = _with_adapters(app, _merged(_adapters(old), _adapters(app)))
            elif app["name"] == APP_NAME and router_config_of is not None:
                app = router_config_of
            applications.append(app)
        return {**wanted, "applications": applications}

    # An adapter whose location changes is reloaded by its replicas in the first stage;
    # the router goes on naming it throughout.
    return [stage(router_before), stage(None)]
