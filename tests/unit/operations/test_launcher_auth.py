"""The Ray head `fleet up` starts runs Ray's token authentication, and a command the cluster
refuses says which credential it needs."""

from __future__ import annotations

import subprocess
from typing import Any

import pytest
import typer

from cluster import launcher
from cluster.cli import operations


def test_the_local_head_starts_with_token_authentication(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[list[str], dict[str, str]]] = []

    def run(command: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
        calls.append((command, options["env"]))
        return subprocess.CompletedProcess(command, 0, "", "")

    monkeypatch.setattr(launcher.subprocess, "run", run)
    launcher.start_local_head(num_cpus=2, metrics_port=8080)
    (token_command, token_env), (start_command, start_env) = calls
    assert token_command[1:] == ["get-auth-token", "--generate"]  # made before the head needs it
    assert start_command[1:3] == ["start", "--head"]
    assert token_env["RAY_AUTH_MODE"] == start_env["RAY_AUTH_MODE"] == "token"


def test_a_refused_connection_names_the_operator_credential(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def refuse(address: str) -> None:
        raise ConnectionError(f"Failed to connect to Ray cluster at {address}")

    monkeypatch.setattr(launcher, "running_ray_address", lambda joined=None: "10.0.0.1:6379")
    monkeypatch.setattr(launcher, "connect", refuse)
    with pytest.raises(typer.Exit):
        operations.connect_to_cluster()
    assert "Ray cluster token" in capsys.readouterr().err
