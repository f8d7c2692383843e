"""Scale one model of a running cluster: a fixed replica count or autoscaling bounds.

Scaling rewrites only the model's deployment override in Serve's running config, so
Serve adds or drains replicas without restarting the ones that stay. It is imperative:
the next `fleet apply` of a config file sets the file's scaling again.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

from pydantic import ValidationError

from cluster.config.schema import MODEL_APP_PREFIX, AutoscalingConfig, deployment_name
from cluster.launcher import DeployError, submit, wait_for_replicas
from cluster.rollout import running_deploy_config
from cluster.serve_config import scaling_override


class ScaleError(DeployError):
    """The change names no served model or asks for impossible bounds."""


@dataclass(frozen=True)
class ScaleChange:
    """What to change; unset fields keep their running value."""

    replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    target_ongoing_requests: float | None = None
    upscale_delay_s: float | None = None
    downscale_delay_s: float | None = None
    look_back_period_s: float | None = None

    def autoscaling_fields(self) -> dict[str, Any]:
        return {
            item.name: getattr(self, item.name)
            for item in fields(self)
            if item.name != "replicas" and getattr(self, item.name) is not None
        }


def _running_autoscaling(override: dict[str, Any]) -> dict[str, Any]:
    running = override.get("autoscaling_config")
    if running:
        return {key: running[key] for key in AutoscalingConfig.model_fields if key in running}
    # Switching a fixed count to autoscaling starts from that count.
    replicas = override.get("num_replicas") or 1
    return {"min_replicas": replicas, "max_replicas": replicas}


def scaled_override(override: dict[str, Any], change: ScaleChange) -> dict[str, Any]:
    """A model's deployment override with ``change`` applied."""
    autoscaling = change.autoscaling_fields()
    if change.replicas is not None:
        if autoscaling:
            raise ScaleError("set either --replicas or autoscaling bounds, not both")
        if change.replicas < 1:
            raise ScaleError("--replicas: at least 1 (set --min 0 to let a model scale to zero)")
        return {**override, **scaling_override(replicas=change.replicas, autoscaling=None)}
    if not autoscaling:
        raise ScaleError("nothing to change: give --replicas or --min/--max/--target-ongoing")
    try:
        scaling = AutoscalingConfig.model_validate(
            {**_running_autoscaling(override), **autoscaling}
        )
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'autoscaling'}: {e['msg']}" for e in error.errors()
        )
        raise ScaleError(problems) from None
    return {**override, **scaling_override(replicas=None, autoscaling=scaling)}


def with_scaled_model(
    deploy_config: dict[str, Any], model: str, change: ScaleChange
) -> tuple[dict[str, Any], dict[str, Any]]:
    """``deploy_config`` with ``model``'s override changed, and that new override."""
    app_name = deployment_name(model)
    applications = []
    new_override: dict[str, Any] | None = None
    for application in deploy_config["applications"]:
        if application["name"] == app_name:
            overrides = application.get("deployments") or [{"name": app_name}]
            new_override = scaled_override(overrides[0], change)
            application = {**application, "deployments": [new_override]}
        applications.append(application)
    if new_override is None:
        served = sorted(
            app["args"]["model"]["name"]
            for app in deploy_config["applications"]
            if app["name"].startswith(MODEL_APP_PREFIX)
        )
        raise ScaleError(f"no model '{model}' is served; served: {', '.join(served)}")
    return {**deploy_config, "applications": applications}, new_override


def scale_model(
    model: str, change: ScaleChange, *, wait: bool = True, timeout_s: float = 900
) -> dict[str, Any]:
    """Apply ``change`` to the running model; with ``wait``, return once its replicas
    match the new target. Returns the model's new deployment override."""
    deploy_config, override = with_scaled_model(running_deploy_config(), model, change)
    submit(deploy_config)
    if wait:
        wait_for_replicas(
            deployment_name(model), target=override.get("num_replicas"), timeout_s=timeout_s
        )
    return override
