"""Operating a live cluster: status, scaling, autoscaling and config rollouts, with
requests streaming throughout and none failing or cut short."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import openai
import pytest
from typer.testing import CliRunner

from cluster.cli.main import app
from cluster.config.schema import deployment_name
from cluster.report import collect_status
from cluster.rollout import apply_config, plan_config
from cluster.scaling import ScaleChange, scale_model
from tests.integration.conftest import AB_ROUTE, TP2_MODEL, RunningCluster, openai_client

SCALED_MODEL = "tiny-qwen2"
STREAM_TOKENS = 120


def _replica_ids() -> dict[str, set[str]]:
    """Each model application's live replica ids (a restart gives new ones)."""
    from ray.serve.context import _get_global_client

    applications = _get_global_client().get_serve_details()["applications"]
    return {
        name: {r["replica_id"] for d in app["deployments"].values() for r in d["replicas"]}
        for name, app in applications.items()
        if name.startswith("model-")
    }


def _running_replicas(model: str) -> int:
    report = collect_status()
    return next(m.replicas.running for m in report.models if m.name == model)


def _wait_for_replicas(model: str, count: int, timeout_s: float) -> float:
    started = time.monotonic()
    while _running_replicas(model) != count:
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{model}: not {count} running replicas after {timeout_s} s")
        time.sleep(1)
    return time.monotonic() - started


class StreamingLoad:
    """Threads streaming completions back to back; records every stream's outcome."""

    def __init__(self, cluster: RunningCluster, models: list[str], threads: int) -> None:
        self._cluster = cluster
        self._models = models
        self._threads = threads
        self._stop = threading.Event()
        self.completed = 0
        self.problems: list[str] = []
        self._pool = ThreadPoolExecutor(max_workers=threads)

    def _one_stream(self, client: openai.OpenAI, model: str) -> None:
        chunks = 0
        finish = None
        try:
            stream = client.completions.create(
                model=model, prompt="status", max_tokens=STREAM_TOKENS, temperature=0, stream=True
            )
            for chunk in stream:
                for choice in chunk.choices:
                    chunks += 1
                    finish = choice.finish_reason or finish
        except Exception as error:  # every failure is a finding
            self.problems.append(f"{model}: {type(error).__name__}: {error}")
            return
        if finish != "length":
            self.problems.append(f"{model}: cut short after {chunks} chunks ({finish})")
            return
        self.completed += 1

    def _loop(self, worker: int) -> None:
        model = self._models[worker % len(self._models)]
        with openai_client(self._cluster, timeout=120) as client:
            while not self._stop.is_set():
                self._one_stream(client, model)

    def __enter__(self) -> StreamingLoad:
        for worker in range(self._threads):
            self._pool.submit(self._loop, worker)
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._pool.shutdown(wait=True)


@pytest.fixture(scope="module")
def restore_config(cluster: RunningCluster) -> Iterator[None]:
    yield
    # No traffic by now: restarting without the surge replica saves an engine start.
    apply_config(cluster.config, surge=False)


def test_status_reports_models_services_and_routes(cluster: RunningCluster) -> None:
    report = collect_status()
    assert report.status == "RUNNING"
    models = {model.name: model for model in report.models}
    assert set(models) == set(cluster.model_names)
    for model in models.values():
        assert (model.replicas.running, model.replicas.target) == (1, 1)
        assert model.scaling == {"mode": "fixed", "replicas": 1}
        assert model.ongoing_requests == 0
    assert models[TP2_MODEL].tensor_parallel_size == 2
    assert models[TP2_MODEL].resources_per_replica == {"CPU": 2}
    routes = {route["name"]: route for route in report.routes}
    assert [v["weight"] for v in routes[AB_ROUTE.name]["variants"]] == [50, 50]

    result = CliRunner().invoke(app, ["status"])
    assert result.exit_code == 0, result.output
    assert f"{TP2_MODEL}" in result.output
    assert "50.0%" in result.output


def test_status_counts_requests_in_flight(client: openai.OpenAI) -> None:
    def slow_reader() -> int:
        stream = client.completions.create(
            model=SCALED_MODEL, prompt="x", max_tokens=500, stream=True
        )
        chunks = 0
        for _ in stream:
            chunks += 1
            time.sleep(0.01)  # a slow client keeps the stream in flight for seconds
        return chunks

    with ThreadPoolExecutor(max_workers=2) as pool:
        streams = [pool.submit(slow_reader) for _ in range(2)]
        deadline = time.monotonic() + 30
        seen = 0
        while seen < 2 and time.monotonic() < deadline:
            report = collect_status()
            seen = next(m.ongoing_requests for m in report.models if m.name == SCALED_MODEL) or 0
        assert all(stream.result() > 0 for stream in streams)
    assert seen == 2


def test_autoscaling_adds_a_replica_under_load_and_removes_it_after(
    cluster: RunningCluster, restore_config: None
) -> None:
    scale_model(
        SCALED_MODEL,
        ScaleChange(
            min_replicas=1,
            max_replicas=2,
            target_ongoing_requests=1,
            upscale_delay_s=1,
            downscale_delay_s=3,
            look_back_period_s=12,
        ),
    )
    # Two streams at all times: twice the target per replica, so Serve wants two.
    with StreamingLoad(cluster, [SCALED_MODEL], threads=2) as load:
        up_s = _wait_for_replicas(SCALED_MODEL, 2, timeout_s=240)
    down_s = _wait_for_replicas(SCALED_MODEL, 1, timeout_s=180)
    print(f"autoscaling: 2 replicas after {up_s:.0f} s of load, 1 again {down_s:.0f} s after")
    assert load.problems == []
    assert load.completed > 0


def test_rolling_out_a_config_drops_no_stream(
    cluster: RunningCluster, restore_config: None
) -> None:
    scaled_app = deployment_name(SCALED_MODEL)
    others_before = {app: ids for app, ids in _replica_ids().items() if app != scaled_app}
    changed_model = cluster.config.model(SCALED_MODEL)
    rolled_out = cluster.config.model_copy(
        update={
            "models": [
                changed_model.model_copy(
                    update={"engine": changed_model.engine.model_copy(update={"max_num_seqs": 16})}
                )
                if model.name == SCALED_MODEL
                else model
                for model in cluster.config.models
            ],
            "routes": [
                route.model_copy(
                    update={
                        "variants": [
                            route.variants[0].model_copy(update={"weight": 80}),
                            route.variants[1].model_copy(update={"weight": 20}),
                        ]
                    }
                )
                if route.name == AB_ROUTE.name
                else route
                for route in cluster.config.routes
            ],
        }
    )
    plan = plan_config(rolled_out)
    assert plan.restarted == [deployment_name(SCALED_MODEL)]
    assert plan.reloaded

    # Scaling up and down under load is the autoscaling test's; this one restarts.
    with StreamingLoad(cluster, [SCALED_MODEL, AB_ROUTE.name], threads=2) as load:
        started = time.monotonic()
        # One replica: the rollout surges to two, rolls over, and returns to one.
        apply_config(rolled_out)
        print(f"rollout under load: {time.monotonic() - started:.0f} s, {load.completed} streams")
        time.sleep(2)
    assert load.problems == []
    assert load.completed > 20
    routes = {route["name"]: route for route in collect_status().routes}
    assert [v["weight"] for v in routes[AB_ROUTE.name]["variants"]] == [80, 20]
    # Only the changed model's replicas were replaced.
    assert {app: ids for app, ids in _replica_ids().items() if app != scaled_app} == others_before


def test_scale_refuses_an_unknown_model_and_impossible_bounds(cluster: RunningCluster) -> None:
    runner = CliRunner()
    unknown = runner.invoke(app, ["scale", "no-such-model", "--replicas", "2"])
    assert unknown.exit_code == 2
    assert "no model 'no-such-model' is served" in unknown.output
    bounds = runner.invoke(app, ["scale", SCALED_MODEL, "--min", "3", "--max", "2"])
    assert bounds.exit_code == 2
    assert "exceeds max_replicas" in bounds.output
