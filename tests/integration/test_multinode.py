"""Two Ray nodes on this machine: a model placed on the worker through the config serves
there, its requests fail fast or fall back when the worker dies (never hang), and it
comes back when a worker rejoins."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator

import openai
import psutil
import pytest
import ray

from cluster.config.schema import ClusterConfig, deployment_name
from cluster.launcher import CURRENT_CLUSTER_FILE, RAY_ENV, _ray_executable
from cluster.rollout import apply_config
from services.routing.config import SplitRouteConfig, VariantConfig
from tests.integration.conftest import RunningCluster

WORKER_RESOURCE = "fleet-worker"
WORKER_MODEL = "tiny-qwen2-on-worker"
FALLBACK_MODEL = "tiny-mistral"
WORKER_ROUTE = SplitRouteConfig(
    name="on-worker",
    variants=[VariantConfig(name="worker", model=WORKER_MODEL, weight=100)],
    fallbacks=[FALLBACK_MODEL],
)


class WorkerNode:
    """A `ray start` worker joined to the test cluster, with its own custom resource."""

    def __init__(self, gcs_address: str) -> None:
        self._gcs_address = gcs_address
        self._process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        resources = json.dumps({WORKER_RESOURCE: 2})
        self._process = subprocess.Popen(
            [
                _ray_executable(),
                "start",
                f"--address={self._gcs_address}",
                "--num-cpus=2",
                f"--resources={resources}",
                "--disable-usage-stats",
                "--block",
            ],
            env={**os.environ, **RAY_ENV},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 60
        while not self.node_ids():
            if time.monotonic() > deadline:
                raise AssertionError("the worker node did not join")
            time.sleep(0.5)

    def kill(self) -> None:
        """A hard node failure: every process of the node dies at once (Ray's workers
        run in process groups of their own, so they are found by descent)."""
        if self._process is None:
            return
        node = psutil.Process(self._process.pid)
        for process in [*node.children(recursive=True), node]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.send_signal(signal.SIGKILL)
        self._process.wait()
        self._process = None

    @staticmethod
    def node_ids() -> set[str]:
        return {
            node["NodeID"]
            for node in ray.nodes()
            if node["Alive"] and node["Resources"].get(WORKER_RESOURCE)
        }


@pytest.fixture(scope="module")
def worker(cluster: RunningCluster) -> Iterator[WorkerNode]:
    # `ray start` records its cluster as this machine's current one; the developer's own
    # cluster (`make up`) must stay the one `fleet` finds afterwards.
    recorded = CURRENT_CLUSTER_FILE.read_text() if CURRENT_CLUSTER_FILE.exists() else None
    node = WorkerNode(ray.get_runtime_context().gcs_address)
    node.start()
    try:
        yield node
    finally:
        node.kill()
        apply_config(cluster.config)
        if recorded is None:
            CURRENT_CLUSTER_FILE.unlink(missing_ok=True)
        else:
            CURRENT_CLUSTER_FILE.write_text(recorded)


def _config_with_worker_model(config: ClusterConfig) -> ClusterConfig:
    source = config.model("tiny-qwen2")
    placed = source.model_copy(
        update={
            "name": WORKER_MODEL,
            "resources": source.resources.model_copy(update={"custom": {WORKER_RESOURCE: 1}}),
        }
    )
    return config.model_copy(
        update={"models": [*config.models, placed], "routes": [*config.routes, WORKER_ROUTE]}
    )


def _replica_nodes(model: str) -> set[str]:
    from ray.serve.context import _get_global_client

    app = deployment_name(model)
    details = _get_global_client().get_serve_details()["applications"][app]
    return {r["node_id"] for r in details["deployments"][app]["replicas"]}


def _timed(call: object) -> tuple[float, object]:
    started = time.monotonic()
    try:
        result = call()  # type: ignore[operator]
    except openai.APIStatusError as error:
        result = error
    return time.monotonic() - started, result


def test_a_model_on_a_dead_worker_fails_fast_falls_back_and_returns(
    cluster: RunningCluster, worker: WorkerNode, client: openai.OpenAI
) -> None:
    apply_config(_config_with_worker_model(cluster.config))
    assert _replica_nodes(WORKER_MODEL) <= worker.node_ids()

    client = client.with_options(timeout=30)

    def direct() -> object:
        return client.completions.create(model=WORKER_MODEL, prompt="hi", max_tokens=4)

    def routed() -> object:
        return client.completions.with_raw_response.create(
            model=WORKER_ROUTE.name, prompt="hi", max_tokens=4
        )

    assert direct().model == WORKER_MODEL

    worker.kill()
    killed = time.monotonic()
    # Within a few seconds the router knows; no request waits on the dead node after that.
    deadline = killed + 30
    while True:
        took, answer = _timed(direct)
        if isinstance(answer, openai.APIStatusError):
            break
        assert time.monotonic() < deadline, "requests still reach the dead worker's model"
        time.sleep(0.5)
    print(f"multi-node: requests fail fast {time.monotonic() - killed:.1f} s after the kill")
    assert answer.status_code == 503
    assert "unavailable" in answer.message and WORKER_MODEL in answer.message
    for _ in range(3):
        took, answer = _timed(direct)
        assert isinstance(answer, openai.APIStatusError) and answer.status_code == 503
        assert took < 2, f"a request to the lost model took {took:.1f} s to fail"
        took, raw = _timed(routed)
        assert raw.headers["x-fleet-model"] == FALLBACK_MODEL
        assert took < 5

    worker.start()
    rejoined = time.monotonic()
    deadline = rejoined + 240
    while True:
        took, answer = _timed(direct)
        if not isinstance(answer, openai.APIStatusError):
            break
        assert time.monotonic() < deadline, f"the model did not come back: {answer.message}"
        time.sleep(2)
    print(f"multi-node: the model serves again {time.monotonic() - rejoined:.0f} s after rejoin")
    assert answer.model == WORKER_MODEL
    assert _replica_nodes(WORKER_MODEL) <= worker.node_ids()
