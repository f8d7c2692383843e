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
post-warm-up level, and no request failed. Exit status 1 when the check fails.
"""

from __future__ import annotations

import argparse
import asyncio
import json
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
from loadtests.bench.clients import authorization
from loadtests.bench.compare import bench_key
from loadtests.bench.systems import LLMFleet

DEFAULT_CONFIG = Path(__file__).resolve().parents[1] / "deploy" / "configs" / "local.yaml"
SAMPLE_EVERY_S = 10.0
MIB = 1024 * 1024
# Which Ray actors to sample, by a piece of their class name.
WATCHED = {"router": "llm-fleet:router", "embedder": "embedder", "proxy": "ProxyActor"}
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


def watched_processes() -> dict[str, psutil.Process]:
    from ray.util.state import list_actors

    found: dict[str, psutil.Process] = {}
    for actor in list_actors(filters=[("state", "=", "ALIVE")], limit=1000):
        name = actor.class_name or ""
        for role, marker in WATCHED.items():
            if marker in name:
                found[f"{role}:{actor.pid}"] = psutil.Process(actor.pid)
        if name.startswith("ServeReplica:model-"):
            found[f"model:{actor.pid}"] = psutil.Process(actor.pid)
    return found


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
        return "ok" if response.status_code == 200 else f"http {response.status_code}"
    async with client.stream("POST", f"{base}/chat/completions", json=body) as response:
        if response.status_code != 200:
            return f"http {response.status_code}"
        async for line in response.aiter_lines():
            if cancel and line.startswith("data:"):
                return "cancelled"
            if '"error"' in line:
                return "stream error"
    return "ok"


async def one_grpc(stub: fleet_pb2_grpc.FleetServiceStub, model: str, rng: random.Random) -> str:
    request = fleet_pb2.GenerateRequest(
        prompt=rng.choice(PROMPTS),
        sampling=fleet_pb2.SamplingParams(max_tokens=rng.randint(4, 48)),
        routing=fleet_pb2.RoutingHints(model=model),
    )
    metadata = tuple(authorization().items())
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
        return f"grpc {error.code().name}"


async def client_loop(
    index: int, config: ClusterConfig, models: list[str], until: float, tally: Tally
) -> None:
    rng = random.Random(index)
    base = f"http://{config.http.host}:{config.http.port}/v1"
    async with (
        httpx.AsyncClient(timeout=120, headers=authorization()) as client,
        grpc.aio.insecure_channel(f"{config.grpc.host}:{config.grpc.port}") as channel,
    ):
        stub = fleet_pb2_grpc.FleetServiceStub(channel)
        while time.monotonic() < until:
            model = rng.choice(models)
            try:
                if index % 2 == 0:
                    outcome = await one_http(client, base, model, rng)
                else:
                    outcome = await one_grpc(stub, model, rng)
            except httpx.HTTPError as error:
                outcome = f"http {type(error).__name__}"
            kind = outcome if outcome in ("ok", "cancelled") else "failed"
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


async def soak(args: argparse.Namespace, config: ClusterConfig) -> bool:
    import ray

    ray.init(address="auto", logging_level="ERROR")
    models = args.models or [route.name for route in config.routes][:2] or [config.models[0].name]
    seconds = args.minutes * 60
    until = time.monotonic() + seconds
    tally = Tally()
    samples: dict[str, list[tuple[float, float]]] = defaultdict(list)
    await asyncio.gather(
        sample_memory(until, samples),
        *(client_loop(i, config, models, until, tally) for i in range(args.streams)),
    )
    warm_up_s = seconds / 5
    print(
        f"{args.minutes:g} min, {args.streams} clients on {', '.join(models)}: "
        + ", ".join(f"{k} {v}" for k, v in sorted(tally.outcomes.items()))
    )
    for error, count in tally.errors.most_common(5):
        print(f"  failure: {error} x{count}")
    healthy = not tally.errors
    for name, points in sorted(samples.items()):
        growth = growth_mib(points, warm_up_s)
        peak = max(rss for _, rss in points)
        verdict = "n/a" if growth is None else f"{growth:+7.1f} MiB after warm-up"
        if growth is not None and name.split(":")[0] != "model" and growth > args.bound_mib:
            healthy = False
            verdict += f"  (over the {args.bound_mib:g} MiB bound)"
        print(f"{name:<20} start {points[0][1]:7.1f} MiB  peak {peak:7.1f} MiB  {verdict}")
    if args.samples_out:
        args.samples_out.write_text(json.dumps(samples, indent=1))
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
    with bench_key(config):
        if args.no_start:
            ok = asyncio.run(soak(args, config))
        else:
            fleet = LLMFleet(
                name="llm-fleet",
                base_url=f"http://127.0.0.1:{config.http.port}/v1",
                config=args.config,
            )
            print(f"starting llm-fleet from {args.config} ...", file=sys.stderr, flush=True)
            fleet.start(config.models[0].name, Path(__file__).parent / "results" / "soak")
            try:
                ok = asyncio.run(soak(args, config))
            finally:
                fleet.stop()
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
