"""Soak: a steady mixed load for a long time, and the memory of the serving processes through it
(issue 12, point 5).

    python -m loadtests.soak [--minutes 60] [--streams 8] [--bound-mib 64] [--config FILE]
                             [--no-start]

It starts llm-fleet (`fleet up`, the embedded default unless --config; --no-start uses the
cluster already running here) and keeps `--streams` clients busy: HTTP and gRPC, streamed
and not, every fifth request cancelled after its first chunk, through the guarded routes.
Every 10 s it samples the resident memory (RSS) of the router replicas, the embedder (the
guard checks' model), the HTTP/gRPC proxies and the model replicas. The first fifth of the
run is warm-up; the check: no process grows by more than `--bound-mib` MiB from its
post-warm-up level, and no request failed (a guard's block is an outcome of its own, not a
failure). Exit status 1 when the check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sys
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import httpx
import psutil
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from cluster.config import ClusterConfig, load_config
from loadtests.bench.compare import bench_key
from loadtests.running import actor_processes, running_fleet
from services.client.base import API_KEY_ENV

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "configs" / "local.yaml"
SAMPLE_EVERY_S = 10.0
MIB = 1024 * 1024
# Which Ray actors to sample, by a piece of their class name.
WATCHED = {
    "router": "ServeReplica:llm-fleet:router",
    "embedder": "ServeReplica:embedder:",
    "proxy": "ProxyActor",
    "model": "ServeReplica:model-",
}
PROMPTS = (
    "What is the status of the cluster?",
    "Summarise the last deployment in two sentences.",
    "My e-mail is jane@example.com, can you reach me there?",
    "List three reasons a replica might restart.",
)


@dataclass
class Tally:
    outcomes: Counter[str] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)


@dataclass(frozen=True)
class SoakPlan:
    """What to run: for how long, how many clients, on which names, and the memory bound."""

    minutes: float
    streams: int
    bound_mib: float
    models: list[str]
    api_key: str | None = None

    @property
    def seconds(self) -> float:
        return self.minutes * 60

    @property
    def warm_up_s(self) -> float:
        """The first fifth of the run: caches, pools and arenas fill up."""
        return self.seconds / 5

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.api_key}"),) if self.api_key else ()


@dataclass
class SoakReport:
    plan: SoakPlan
    tally: Tally
    samples: dict[str, list[tuple[float, float]]]

    def growth_mib(self) -> dict[str, float | None]:
        return {
            name: growth_mib(points, self.plan.warm_up_s) for name, points in self.samples.items()
        }

    def problems(self) -> list[str]:
        """Failed requests, and serving processes (not engines) that grew past the bound."""
        found = [f"failure: {error} x{count}" for error, count in self.tally.errors.most_common()]
        for name, growth in sorted(self.growth_mib().items()):
            if (
                growth is not None
                and name.split(":")[0] != "model"
                and growth > self.plan.bound_mib
            ):
                found.append(f"{name} grew {growth:+.1f} MiB (bound {self.plan.bound_mib:g} MiB)")
        return found

    def lines(self) -> list[str]:
        plan = self.plan
        lines = [
            f"{plan.minutes:g} min, {plan.streams} clients on {', '.join(plan.models)}: "
            + ", ".join(f"{k} {v}" for k, v in sorted(self.tally.outcomes.items()))
        ]
        growth = self.growth_mib()
        for name, points in sorted(self.samples.items()):
            peak = max(rss for _, rss in points)
            grew = growth[name]
            verdict = "n/a" if grew is None else f"{grew:+7.1f} MiB after warm-up"
            lines.append(
                f"{name:<20} start {points[0][1]:7.1f} MiB  peak {peak:7.1f} MiB  {verdict}"
            )
        return lines + self.problems()


def watched_processes() -> dict[str, psutil.Process]:
    found: dict[str, psutil.Process] = {}
    for role, marker in WATCHED.items():
        for process in actor_processes(marker):
            found[f"{role}:{process.pid}"] = process
    return found


# A guard's block is the policy working, not a failure (the judge may rate a prompt unsafe).
BLOCKED = "blocked"
GUARD_ERROR = "guardrail_violation"


def _http_error(status: int, payload: object) -> str:
    error = payload.get("error", {}) if isinstance(payload, dict) else {}
    kind = error.get("type", "") if isinstance(error, dict) else ""
    return BLOCKED if kind == GUARD_ERROR else f"http {status} {kind}".rstrip()


async def one_http(client: httpx.AsyncClient, base: str, model: str, rng: random.Random) -> str:
    stream, cancel = rng.random() < 0.5, rng.random() < 0.2
    body = {
        "model": model,
        "messages": [{"role": "user", "content": rng.choice(PROMPTS)}],
        "max_tokens": rng.randint(4, 48),
        "stream": stream,
    }
    if not stream:
        response = await client.post(f"{base}/chat/completions", json=body)
        if response.status_code == 200:
            return "ok"
        return _http_error(response.status_code, response.json())
    async with client.stream("POST", f"{base}/chat/completions", json=body) as response:
        if response.status_code != 200:
            return _http_error(response.status_code, json.loads(await response.aread()))
        async for line in response.aiter_lines():
            if cancel and line.startswith("data:"):
                return "cancelled"
            if line.startswith("data:") and '"error"' in line:
                outcome = _http_error(200, json.loads(line.removeprefix("data:")))
                return outcome if outcome == BLOCKED else f"stream {outcome}"
    return "ok"


async def one_grpc(
    stub: fleet_pb2_grpc.FleetServiceStub,
    model: str,
    rng: random.Random,
    metadata: tuple[tuple[str, str], ...],
) -> str:
    request = fleet_pb2.GenerateRequest(
        prompt=rng.choice(PROMPTS),
        sampling=fleet_pb2.SamplingParams(max_tokens=rng.randint(4, 48)),
        routing=fleet_pb2.RoutingHints(model=model),
    )
    try:
        if rng.random() < 0.5:
            await stub.Generate(request, metadata=metadata, timeout=120)
            return "ok"
        call = stub.GenerateStream(request, metadata=metadata, timeout=120)
        cancel = rng.random() < 0.2
        async for _ in call:
            if cancel:
                call.cancel()
                return "cancelled"
        return "ok"
    except grpc.aio.AioRpcError as error:
        kind = dict(error.trailing_metadata() or ()).get("fleet-error-type", "")
        return BLOCKED if kind == GUARD_ERROR else f"grpc {error.code().name} {kind}".rstrip()


async def client_loop(
    index: int, plan: SoakPlan, http_base: str, grpc_target: str, until: float, tally: Tally
) -> None:
    rng = random.Random(index)
    headers = dict(plan.metadata())
    async with (
        httpx.AsyncClient(timeout=120, headers=headers) as client,
        grpc.aio.insecure_channel(grpc_target) as channel,
    ):
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        while time.monotonic() < until:
            model = rng.choice(plan.models)
            try:
                if index % 2 == 0:
                    outcome = await one_http(client, http_base, model, rng)
                else:
                    outcome = await one_grpc(stub, model, rng, plan.metadata())
            except httpx.HTTPError as error:
                outcome = f"http {type(error).__name__}"
            kind = outcome if outcome in ("ok", "cancelled", BLOCKED) else "failed"
            tally.outcomes[kind] += 1
            if kind == "failed":
                tally.errors[outcome] += 1


async def sample_memory(until: float, samples: dict[str, list[tuple[float, float]]]) -> None:
    started = time.monotonic()
    while time.monotonic() < until:
        for name, process in watched_processes().items():
            try:
                samples[name].append((time.monotonic() - started, process.memory_info().rss / MIB))
            except psutil.Error:
                continue
        await asyncio.sleep(SAMPLE_EVERY_S)


def growth_mib(points: list[tuple[float, float]], warm_up_s: float) -> float | None:
    """RSS growth after warm-up: the last minute's median over the first post-warm-up minute's."""
    after = [(t, rss) for t, rss in points if t >= warm_up_s]
    if len(after) < 4:
        return None
    window = max(1, min(6, len(after) // 4))
    head = sorted(rss for _, rss in after[:window])[window // 2]
    tail = sorted(rss for _, rss in after[-window:])[window // 2]
    return tail - head


async def soak(plan: SoakPlan, http_base: str, grpc_target: str) -> SoakReport:
    """Run ``plan`` against a running cluster (``http_base`` ends in ``/v1``); the memory
    samples are of this machine's processes."""
    until = time.monotonic() + plan.seconds
    tally = Tally()
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    await asyncio.gather(
        sample_memory(until, samples),
        *(client_loop(i, plan, http_base, grpc_target, until, tally) for i in range(plan.streams)),
    )
    return SoakReport(plan, tally, dict(samples))


def soak_config(args: argparse.Namespace, config: ClusterConfig) -> bool:
    models = args.models or [route.name for route in config.routes][:2] or [config.models[0].name]
    plan = SoakPlan(args.minutes, args.streams, args.bound_mib, models, os.environ.get(API_KEY_ENV))
    report = asyncio.run(
        soak(
            plan,
            f"http://{config.http.host}:{config.http.port}/v1",
            f"{config.grpc.host}:{config.grpc.port}",
        )
    )
    print("\n".join(report.lines()))
    if args.samples_out:
        args.samples_out.write_text(json.dumps(report.samples, indent=1))
    healthy = not report.problems()
    print("PASS" if healthy else "FAIL")
    return healthy


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--streams", type=int, default=8)
    parser.add_argument("--bound-mib", type=float, default=64.0)
    parser.add_argument("--models", nargs="*", help="names to call (default: the config's routes)")
    parser.add_argument("--samples-out", type=Path, help="write the RSS samples here as JSON")
    parser.add_argument("--no-start", action="store_true", help="use the cluster running here")
    args = parser.parse_args()
    config = load_config(args.config)
    if args.no_start:
        with bench_key(config):
            healthy = soak_config(args, config)
    else:
        with running_fleet(args.config, config, "soak"):
            healthy = soak_config(args, config)
    sys.exit(0 if healthy else 1)


if __name__ == "__main__":
    main()
