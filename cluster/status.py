"""What is running: per model, its replicas and their states."""

from __future__ import annotations

from dataclasses import dataclass, field

from ray import serve

from cluster.config.schema import deployment_name

APP_NAME = "llm-fleet"
ROUTER_DEPLOYMENT = "router"


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
    status: str
    message: str
    deployments: dict[str, DeploymentState]

    @property
    def is_running(self) -> bool:
        return self.status == "RUNNING"

    @property
    def has_failed(self) -> bool:
        return self.status in {"DEPLOY_FAILED", "UNHEALTHY"}

    def model(self, model_name: str) -> DeploymentState | None:
        return self.deployments.get(deployment_name(model_name))


def app_state(app_name: str = APP_NAME) -> AppState | None:
    """The application's state, or None when it is not deployed."""
    application = serve.status().applications.get(app_name)
    if application is None:
        return None
    deployments = {
        name: DeploymentState(
            name=name,
            status=str(getattr(info.status, "value", info.status)),
            message=info.message or "",
            replicas={
                str(getattr(state, "value", state)): count
                for state, count in (info.replica_states or {}).items()
            },
        )
        for name, info in application.deployments.items()
    }
    return AppState(
        status=str(getattr(application.status, "value", application.status)),
        message=application.message or "",
        deployments=deployments,
    )
