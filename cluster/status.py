"""What is running: per model, its replicas and their states."""

from __future__ import annotations

from dataclasses import dataclass, field

from ray import serve

from cluster.config.schema import deployment_name

APP_NAME = "llm-fleet"
ROUTER_DEPLOYMENT = "router"
EMBEDDER_APP = "embedder"


@dataclass(frozen=True)
class DeploymentState:
    name: str
    status: str
    message: str
    replicas: dict[str, int] = field(default_factory=dict)

    @property
    def running(self) -> int:
        return self.replicas.get("RUNNING", 0)


@dataclass(frozen=True)
class AppState:
    """The fleet's Serve applications (the router's and one per model) seen as one."""

    status: str
    message: str
    deployments: dict[str, DeploymentState]

    @property
    def is_running(self) -> bool:
        return self.status == "RUNNING"

    @property
    def has_failed(self) -> bool:
        return self.status in _FAILED

    def model(self, model_name: str) -> DeploymentState | None:
        return self.deployments.get(deployment_name(model_name))


_FAILED = {"DEPLOY_FAILED", "UNHEALTHY"}


def _name(value: object) -> str:
    return str(getattr(value, "value", value))


def app_state() -> AppState | None:
    """The fleet's state, or None when its router application is not deployed.

    The fleet owns the Serve instance (its declarative deploy replaces every
    application), so every application on it is one of ours.
    """
    applications = serve.status().applications
    if APP_NAME not in applications:
        return None
    deployments = {
        name: DeploymentState(
            name=name,
            status=_name(info.status),
            message=info.message or "",
            replicas={_name(state): count for state, count in (info.replica_states or {}).items()},
        )
        for application in applications.values()
        for name, info in application.deployments.items()
    }
    statuses = {app: _name(application.status) for app, application in applications.items()}
    failed = [app for app, status in statuses.items() if status in _FAILED]
    pending = [app for app, status in statuses.items() if status != "RUNNING"]
    worst = failed or pending
    return AppState(
        status=statuses[worst[0]] if worst else "RUNNING",
        message="; ".join(
            f"{app}: {applications[app].message}" for app in worst if applications[app].message
        ),
        deployments=deployments,
    )
