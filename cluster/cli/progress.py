"""Progress lines while engines load."""

from __future__ import annotations

import time

import typer

from cluster.config.schema import deployment_name
from cluster.status import AppState


class ProgressPrinter:
    """Prints a model's line whenever its state changes."""

    def __init__(self, models: list[str]) -> None:
        self._models = models
        self._last: dict[str, str] = {}
        self._started = time.monotonic()

    def __call__(self, state: AppState | None) -> None:
        for model in self._models:
            deployment = state.deployments.get(deployment_name(model)) if state else None
            line = "waiting for Serve" if deployment is None else self._describe(deployment)
            if self._last.get(model) != line:
                self._last[model] = line
                elapsed = time.monotonic() - self._started
                typer.echo(f"  [{elapsed:5.0f}s] {model:<20} {line}")

    @staticmethod
    def _describe(deployment: object) -> str:
        replicas = getattr(deployment, "replicas", {})
        total = sum(replicas.values())
        running = replicas.get("RUNNING", 0)
        status = getattr(deployment, "status", "")
        word = "ready" if status == "HEALTHY" else "loading engine"
        return f"{word} ({running}/{total} replicas running)"
