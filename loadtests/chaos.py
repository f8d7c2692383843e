"""Chaos: kill a model replica, then its vLLM engine process, under 16 concurrent streams, and
count what happened to every request (issue 12, point 1).

    python -m loadtests.chaos [--config loadtests/configs/chaos.yaml] [--streams 16]
                              [--max-tokens 64] [--settle 10] [--deadline 120]

It starts llm-fleet from the config (one model, two replicas), keeps `--streams` streaming
requests in flight (half HTTP, half gRPC), and after `--settle` seconds kills one replica's
actor (SIGKILL to its process); once the cluster serves on every replica again, it kills one
replica's engine process (VLLM::EngineCore) the same way. Each request ends in exactly one of:

- ok: the whole answer;
- interrupted: tokens arrived, then a clear in-band end (an HTTP error event, a gRPC abort
  end and UNAVAILABLE): the caller knows its answer is incomplete;
- failed: an error before any token (a request the cluster should have retried);
- cut: the stream stopped without an error or an end (a silent cut);
- hung: nothing ended it within `--deadline` seconds.

Reported per kill: the counts, and the time from the kill until every replica serves again.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import sys
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import grpc
import httpx
import psutil
from fleet.v1 import fleet_pb2, fleet_pb2_grpc

from cluster.config import ClusterConfig, load_config
from cluster.config.schema import deployment_name
from loadtests.bench.clients import authorization
from loadtests.running import actor_processes, running_fleet

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "chaos.yaml"
PROMPT = "Describe the state of every replica in the cluster."
ENGINE_PROCESS = "VLLM::EngineCore"


@dataclass(frozen=True)
class Outcome:
    kind: str  # ok | interrupted | failed | cut | hung
    tokens: int
    detail: str = ""


async def http_stream(client: httpx.AsyncClient, url: str, model: str, tokens: int) -> Outcome:
    body = {
        "model": model,
        "prompt": PROMPT,
        "max_tokens": tokens,
        "stream": True,
        "ignore_eos": True,
        "temperature": 0,
    }
    received = 0
    async with client.stream("POST", url, json=body) as response:
        if response.status_code != 200:
            return Outcome("failed", 0, f"HTTP {response.status_code}")
        async for line in response.aiter_lines():
            data = line.removeprefix("data:").strip()
            if not line.startswith("data:") or data == "[DONE]":
                continue
            event = json.loads(data)
            if "error" in event:
                kind = "interrupted" if received else "failed"
                return Outcome(kind, received, event["error"].get("type", ""))
            received += sum(bool(c.get("text")) for c in event.get("choices") or [])
    return Outcome("ok" if received else "cut", received)


async def grpc_stream(stub: fleet_pb2_grpc.FleetServiceStub, model: str, tokens: int) -> Outcome:
    request = fleet_pb2.GenerateRequest(
        prompt=PROMPT,
        sampling=fleet_pb2.SamplingParams(max_tokens=tokens, temperature=0.0, ignore_eos=True),
        routing=fleet_pb2.RoutingHints(model=model),
    )
    received, end = 0, None
    try:
        async for message in stub.GenerateStream(request, metadata=tuple(authorization().items())):
            if message.HasField("delta"):
                received += bool(message.delta.text)
            else:
                end = message.end
    except grpc.aio.AioRpcError as error:
        if received and end is not None and end.finish_reason == fleet_pb2.FINISH_REASON_ABORT:
            return Outcome("interrupted", received, error.code().name)
        return Outcome("failed" if not received else "cut", received, error.code().name)
    return Outcome("ok" if end is not None else "cut", received)


class Load:
    """`streams` closed-loop clients; every request's outcome, in the phase it started in."""

    def __init__(self, config: ClusterConfig, streams: int, tokens: int, deadline_s: float):
        self.config, self.streams, self.tokens, self.deadline_s = (
            config,
            streams,
            tokens,
            deadline_s,
        )
        self.phase = "warm-up"
        self.outcomes: dict[str, Counter[str]] = {}
        self.details: dict[str, Counter[str]] = {}
        self.running = True

    async def run(self) -> None:
        model = self.config.models[0].name
        url = f"http://{self.config.http.host}:{self.config.http.port}/v1/completions"
        async with (
            httpx.AsyncClient(timeout=None, headers=authorization()) as client,
            grpc.aio.insecure_channel(f"{self.config.grpc.host}:{self.config.grpc.port}") as ch,
        ):
            stub = fleet_pb2_grpc.FleetServiceStub(ch)
            senders: list[Callable[[], object]] = [
                (lambda: http_stream(client, url, model, self.tokens))
                if index % 2 == 0
                else (lambda: grpc_stream(stub, model, self.tokens))
                for index in range(self.streams)
            ]
            await asyncio.gather(*(self._loop(send) for send in senders))

    async def _loop(self, send: Callable[[], object]) -> None:
        while self.running:
            phase = self.phase
            try:
                outcome = await asyncio.wait_for(send(), self.deadline_s)  # type: ignore[arg-type]
            except TimeoutError:
                outcome = Outcome("hung", 0)
            except (httpx.HTTPError, ValueError) as error:
                outcome = Outcome("cut", 0, type(error).__name__)
            self.outcomes.setdefault(phase, Counter())[outcome.kind] += 1
            if outcome.detail:
                self.details.setdefault(phase, Counter())[f"{outcome.kind}:{outcome.detail}"] += 1


def replica_processes(model: str) -> list[psutil.Process]:
    return actor_processes(f"ServeReplica:{deployment_name(model)}:")


def engine_process(replica: psutil.Process) -> psutil.Process:
    for child in replica.children(recursive=True):
        if ENGINE_PROCESS in " ".join(child.cmdline()) or child.name().startswith("VLLM::Engine"):
            return child
    raise RuntimeError(f"no {ENGINE_PROCESS} under replica process {replica.pid}")


def serving_on_every_replica(model: str, replicas: int) -> bool:
    from ray import serve

    status = serve.status().applications.get(deployment_name(model))
    if status is None or status.status != "RUNNING":
        return False
    deployment = status.deployments[deployment_name(model)]
    return (
        deployment.status == "HEALTHY" and deployment.replica_states.get("RUNNING", 0) == replicas
    )


async def recover_s(
    model: str, replicas: int, before: set[int], killed_at: float, timeout_s: float = 600
) -> float:
    """Seconds from the kill until Serve runs a new replica in place of the victim's (an
    engine's death ends its replica too) and every replica serves."""
    while True:
        now = {process.pid for process in replica_processes(model)}
        if now - before and serving_on_every_replica(model, replicas):
            return time.monotonic() - killed_at
        if time.monotonic() - killed_at > timeout_s:
            raise RuntimeError(f"{model} did not recover within {timeout_s:g} s")
        await asyncio.sleep(0.5)


async def chaos(args: argparse.Namespace, config: ClusterConfig) -> dict[str, float]:
    import ray

    ray.init(address="auto", logging_level="ERROR", log_to_driver=False)
    model = config.models[0]
    replicas = model.replicas or 1
    load = Load(config, args.streams, args.max_tokens, args.deadline)
    running = asyncio.create_task(load.run())
    recovery: dict[str, float] = {}
    await asyncio.sleep(args.settle)
    for kind in ("replica", "engine"):
        victims = replica_processes(model.name)
        before = {process.pid for process in victims}
        target = victims[0] if kind == "replica" else engine_process(victims[0])
        load.phase = f"{kind} killed"
        killed_at = time.monotonic()
        os.kill(target.pid, signal.SIGKILL)
        print(f"killed the {kind} (pid {target.pid})", file=sys.stderr, flush=True)
        recovery[kind] = await recover_s(model.name, replicas, before, killed_at)
        load.phase = f"after {kind} recovered"
        await asyncio.sleep(args.settle)
    load.running = False
    await running
    report(load, recovery)
    return recovery


def report(load: Load, recovery: dict[str, float]) -> None:
    print(f"{load.streams} streams, {load.tokens} tokens each")
    for phase, counts in load.outcomes.items():
        print(
            f"{phase:<24} "
            + "  ".join(f"{k} {counts[k]}" for k in ("ok", "interrupted", "failed", "cut", "hung"))
        )
        for detail, count in sorted(load.details.get(phase, Counter()).items()):
            print(f"{'':<26}{detail}: {count}")
    for kind, seconds in recovery.items():
        print(f"recovered from the {kind} kill in {seconds:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--streams", type=int, default=16)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--settle", type=float, default=10.0)
    parser.add_argument("--deadline", type=float, default=120.0)
    args = parser.parse_args()
    config = load_config(args.config)
    with running_fleet(args.config, config, "chaos"):
        asyncio.run(chaos(args, config))


if __name__ == "__main__":
    main()
