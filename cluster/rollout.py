"""Change a running cluster to match a config: see what would change, apply it, wait.

The plan compares Serve's running declarative config with the one a cluster config
asks for, application by application, so operators see before applying which models
restart (their engine changes), which scale in place and what reloads live.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from ray import serve

from cluster.config.checks import check_config
from cluster.config.schema import MODEL_APP_PREFIX, ClusterConfig
from cluster.launcher import (
    DeployError,
    replica_ids,
    submit,
    wait_for_replicas,
    wait_until_running,
)
from cluster.rollout_adapters import adapter_stages
from cluster.serve_config import scaling_override, serve_deploy_config
from cluster.status import APP_NAME, ROUTER_DEPLOYMENT


class RoutesOnlyError(DeployError):
    """The file changes more than routes, so applying it would restart deployments."""


class EndpointChangeError(DeployError):
    """Serve's proxies cannot move to another port while the cluster runs."""


@dataclass(frozen=True)
class RolloutPlan:
    """What applying a config does to the running cluster, by application."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    restarted: list[str] = field(default_factory=list)
    """Applications whose builder arguments change: Serve replaces their replicas one by
    one, each new replica up before an old one drains."""
    rescaled: list[str] = field(default_factory=list)
    """Applications whose replicas or queue limits change, applied to running replicas."""
    readapted: list[str] = field(default_factory=list)
    """Models whose LoRA adapters change, loaded and unloaded by their running replicas."""
    reloaded: bool = False
    """The router's live config (models, routes, guard policies) changes."""

    @property
    def is_empty(self) -> bool:
        return self.touches_only_routes and not self.reloaded

    @property
    def touches_only_routes(self) -> bool:
        return not (self.added or self.removed or self.restarted or self.rescaled or self.readapted)

    def lines(self) -> list[str]:
        if self.is_empty:
            return ["nothing to change: the cluster already runs this config"]
        sections = [
            ("add", self.added),
            ("remove", self.removed),
            ("restart (rolling)", self.restarted),
            ("scale in place", self.rescaled),
            ("adapters (live)", self.readapted),
        ]
        lines = [f"{verb:<18} {', '.join(apps)}" for verb, apps in sections if apps]
        if self.reloaded:
            lines.append(f"{'reload live':<18} router: models, routes and guardrail policies")
        return lines


def _overrides(app: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {deployment["name"]: deployment for deployment in app.get("deployments") or []}


def _scaling(app: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """An application's deployment overrides but their live configs (the router's, a
    model's adapters)."""
    return {
        name: {key: value for key, value in override.items() if key != "user_config"}
        for name, override in _overrides(app).items()
    }


def _live_configs(app: dict[str, Any]) -> dict[str, Any]:
    return {name: override.get("user_config") for name, override in _overrides(app).items()}


def plan_rollout(running: dict[str, Any], wanted: dict[str, Any]) -> RolloutPlan:
    """Compare two Serve deploy configs (``ServeDeploySchema`` dicts)."""
    before = {app["name"]: app for app in running.get("applications", [])}
    after = {app["name"]: app for app in wanted["applications"]}
    restarted: list[str] = []
    rescaled: list[str] = []
    readapted: list[str] = []
    for name in sorted(after.keys() & before.keys()):
        old, new = before[name], after[name]
        if (old.get("import_path"), old.get("args")) != (new.get("import_path"), new["args"]):
            restarted.append(name)
            continue
        if _scaling(old) != _scaling(new):
            rescaled.append(name)
        if name != APP_NAME and _live_configs(old) != _live_configs(new):
            readapted.append(name)
    router_before = _overrides(before.get(APP_NAME, {})).get(ROUTER_DEPLOYMENT, {})
    router_after = _overrides(after[APP_NAME])[ROUTER_DEPLOYMENT]
    return RolloutPlan(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        restarted=restarted,
        rescaled=rescaled,
        readapted=readapted,
        reloaded=router_before.get("user_config") != router_after["user_config"],
    )


def running_deploy_config() -> dict[str, Any]:
    """Serve's running declarative config, as `serve config` shows it."""
    from ray.serve.context import _get_global_client

    details = _get_global_client().get_serve_details()
    return {
        "proxy_location": details.get("proxy_location"),
        "http_options": details.get("http_options", {}),
        "grpc_options": details.get("grpc_options", {}),
        "applications": [
            application["deployed_app_config"]
            for application in details.get("applications", {}).values()
            if application.get("deployed_app_config")
        ],
    }


_FIXED_ENDPOINT_FIELDS = (
    ("http_options", "host"),
    ("http_options", "port"),
    ("grpc_options", "port"),
)


def _check_telemetry(running: dict[str, Any], wanted: dict[str, Any]) -> None:
    def telemetry(config: dict[str, Any]) -> Any:
        router = _router_app(config)
        return router.get("args", {}).get("telemetry") if router else None

    old = telemetry(running)
    if old is not None and old != telemetry(wanted):
        raise EndpointChangeError(
            "telemetry: Serve's proxies and replicas take these settings when the cluster "
            "starts, so they cannot change while it runs (`fleet down`, then `fleet up` with "
            "this config)"
        )


def _router_app(config: dict[str, Any]) -> dict[str, Any] | None:
    return next((app for app in config["applications"] if app["name"] == APP_NAME), None)


def _check_key_file(running: dict[str, Any], wanted: dict[str, Any]) -> None:
    def key_file(config: dict[str, Any]) -> str | None:
        router = _router_app(config)
        deployments = router.get("deployments", []) if router else []
        user_config = deployments[0].get("user_config") or {} if deployments else {}
        return (user_config.get("auth") or {}).get("keys_file")

    old = key_file(running)
    if old is not None and old != key_file(wanted):
        raise EndpointChangeError(
            f"auth.keys_file: the running cluster reads its keys from {old}; the file cannot "
            "move while it runs (move the keys with `fleet keys`, or `fleet down` and "
            "`fleet up` with this config)"
        )


def _check_endpoints(running: dict[str, Any], wanted: dict[str, Any]) -> None:
    if running.get("proxy_location") not in (None, wanted["proxy_location"]):
        raise EndpointChangeError(
            f"proxy_location: the running cluster has {running['proxy_location']}, this "
            f"config asks for {wanted['proxy_location']}; it cannot change while the "
            "cluster runs (`fleet down`, then `fleet up` with this config)"
        )
    for section, key in _FIXED_ENDPOINT_FIELDS:
        old, new = running[section].get(key), wanted[section][key]
        if old is not None and old != new:
            raise EndpointChangeError(
                f"{section.removesuffix('_options')}.{key}: the running cluster serves on "
                f"{old}, this config asks for {new}; the proxies cannot move while the cluster "
                "runs (`fleet down`, then `fleet up` with this config)"
            )


def _check_tls(running: dict[str, Any], config: ClusterConfig) -> None:
    from services.tls_gateway.gateway import running_gateway_settings

    https = running["http_options"]
    old_http = (https.get("ssl_certfile"), https.get("ssl_keyfile"))
    tls = config.http.tls
    new_http = (tls.cert_file, tls.key_file) if tls is not None else (None, None)
    grpc_tls = config.grpc.tls
    for where, changed in (
        ("http.tls", old_http != new_http),
        ("grpc.tls", running_gateway_settings() != (grpc_tls and grpc_tls.model_dump())),
    ):
        if changed:
            raise EndpointChangeError(
                f"{where}: differs from what the running cluster serves; TLS settings cannot "
                "change while it runs (`fleet down`, then `fleet up` with this config; "
                "the gRPC gateway reloads renewed certificate files at the same paths itself)"
            )


def _compare(config: ClusterConfig) -> tuple[dict[str, Any], dict[str, Any], RolloutPlan]:
    """The running and the wanted Serve configs, and the plan between them; raises if
    ``config`` cannot be applied live."""
    running, wanted = running_deploy_config(), serve_deploy_config(config)
    _check_endpoints(running, wanted)
    _check_tls(running, config)
    _check_telemetry(running, wanted)
    _check_key_file(running, wanted)
    return running, wanted, plan_rollout(running, wanted)


def plan_config(config: ClusterConfig) -> RolloutPlan:
    """What applying ``config`` would change; raises if it cannot be applied live."""
    return _compare(config)[2]


def apply_config(
    config: ClusterConfig,
    *,
    routes_only: bool = False,
    surge: bool = True,
    timeout_s: float = 900,
) -> RolloutPlan:
    """Make the running cluster run ``config`` and wait until it does.

    Requests in flight are never cut: scaling and the router's reload act on running
    replicas, and Serve replaces a restarted model's replicas one at a time, stopping an
    old one before starting its successor. For a model with a single replica that
    would leave nothing serving while the new engine loads, so with ``surge`` it first
    gets a second replica of the old version, rolls over with two, then returns to its
    count. With ``routes_only`` a config that would restart or rescale anything is
    refused before anything changes.
    """
    check_config(config)
    running, wanted, plan = _compare(config)
    if routes_only and not plan.touches_only_routes:
        raise RoutesOnlyError(
            "this config changes models, engines or scaling, not only routes and guardrails: "
            + "; ".join(plan.lines())
            + " (use `fleet apply` to roll it out)"
        )
    if plan.is_empty:
        return plan
    restarted = [app for app in plan.restarted if app.startswith(MODEL_APP_PREFIX)]
    old_replicas = {app: replica_ids(app) for app in restarted}
    single = [app for app in restarted if surge and len(old_replicas[app]) <= 1]
    if single:
        submit(with_fixed_replicas(running, single, SURGE_REPLICAS))
        for app in single:
            wait_for_replicas(app, target=SURGE_REPLICAS, timeout_s=timeout_s)
        submit(with_fixed_replicas(wanted, single, SURGE_REPLICAS))
        for app in single:
            wait_for_replicas(
                app,
                target=SURGE_REPLICAS,
                replaced=old_replicas[app] | replica_ids(app),
                timeout_s=timeout_s,
            )
    stages = adapter_stages(running, wanted, plan.readapted)
    for stage in stages:
        submit(stage)
        wait_until_running(timeout_s=timeout_s)
    if stages:
        wait_for_router_config(config, timeout_s=min(timeout_s, 120))
    submit(wanted)
    targets = _fixed_targets(wanted)
    for app in restarted:
        wait_for_replicas(
            app, target=targets.get(app), replaced=old_replicas[app], timeout_s=timeout_s
        )
    for app in [*plan.rescaled, *plan.added]:
        if app.startswith(MODEL_APP_PREFIX):
            wait_for_replicas(app, target=targets.get(app), timeout_s=timeout_s)
    if not plan.touches_only_routes:
        wait_until_running(timeout_s=timeout_s)
    wait_for_router_config(config, timeout_s=min(timeout_s, 120))
    return plan


SURGE_REPLICAS = 2


def _fixed_targets(deploy_config: dict[str, Any]) -> dict[str, int]:
    """Model applications with a fixed replica count, and that count."""
    return {
        app["name"]: override["num_replicas"]
        for app in deploy_config["applications"]
        for override in app.get("deployments") or []
        if app["name"].startswith(MODEL_APP_PREFIX) and override.get("num_replicas")
    }


def with_fixed_replicas(
    deploy_config: dict[str, Any], apps: list[str], replicas: int
) -> dict[str, Any]:
    """``deploy_config`` with the model applications ``apps`` pinned to ``replicas``."""
    return {
        **deploy_config,
        "applications": [
            {
                **app,
                "deployments": [
                    {**override, **scaling_override(replicas=replicas, autoscaling=None)}
                    for override in app.get("deployments") or [{"name": app["name"]}]
                ],
            }
            if app["name"] in apps
            else app
            for app in deploy_config["applications"]
        ],
    }


def apply_routes(config: ClusterConfig, *, timeout_s: float = 120) -> None:
    """Push only the config's routes and guard policies; refuse anything more."""
    apply_config(config, routes_only=True, timeout_s=timeout_s)


def wait_for_router_config(config: ClusterConfig, *, timeout_s: float) -> None:
    """Until the router replicas answer with the config's models, routes and guard
    policies."""
    wanted = (
        sorted(config.served_names()),
        config.routing().model_dump(mode="json"),
        config.guardrails.model_dump(mode="json"),
    )
    router = serve.get_deployment_handle(ROUTER_DEPLOYMENT, app_name=APP_NAME)
    deadline = time.monotonic() + timeout_s
    agreeing = 0
    # Calls land on random router replicas: several agreeing answers in a row mean all
    # of them (with high probability) run the new routes.
    while agreeing < 2 * (config.router.replicas + 1):
        if time.monotonic() > deadline:
            raise DeployError(f"routes not applied after {timeout_s:.0f} s")
        applied = (
            router.served_names.remote().result(),
            router.routing_config.remote().result(),
            router.guardrails_config.remote().result(),
        )
        agreeing = agreeing + 1 if applied == wanted else 0
        if agreeing == 0:
            time.sleep(0.2)
