"""Overload: keep 4x a model's capacity in flight and measure how fast the excess is refused
and what the admitted requests still get (issue 12, point 2).

    python -m loadtests.overload [--config loadtests/configs/overload.yaml] [--factor 4]
                                 [--seconds 30] [--max-tokens 32]

It starts llm-fleet from the config (`fleet up`), stops it afterwards (`fleet down`), and
reads the model's capacity from the same file: max_ongoing_requests x replicas +
max_queued_requests x router replicas. Half of the clients stream over HTTP, half over gRPC;
each sends its next request as soon as the last one ends, a refused one after the server's
Retry-After (with --ignore-retry-after, after 50 ms: a client that keeps the pressure on).
First the same clients run at 1x the capacity (the model full, nothing refused), then at
`--factor` x. Reported: refusal latency (request sent to 429 / RESOURCE_EXHAUSTED, on the
client), the admitted requests' TTFT at 1x and under overload, and anything that was neither
admitted nor refused (must be none). The clients share the machine with the cluster.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

from cluster.config import ClusterConfig, load_config
from loadtests.bench.clients import GrpcClient, OpenAIHTTPClient, RequestResult
from loadtests.running import running_fleet
from loadtests.timing import percentiles

DEFAULT_CONFIG = Path(__file__).parent / "configs" / "overload.yaml"
PROMPT = "Summarise the status of the cluster in one line."
REFUSED_MARKERS = ("HTTP 429", "RESOURCE_EXHAUSTED")
REFUSAL_TARGET_MS = 100.0
RETRY_PAUSE_S = 0.05


def capacity(config: ClusterConfig) -> int:
    """Requests the model takes before refusing: running on its replicas plus queued at each
    router replica's handle."""
    model = config.models[0]
    replicas = model.replicas or (model.autoscaling.max_replicas if model.autoscaling else 1)
    return (
        model.max_ongoing_requests * replicas + model.max_queued_requests * config.router.replicas
    )


@dataclass
class Outcomes:
    admitted: list[RequestResult] = field(default_factory=list)
    refused: list[RequestResult] = field(default_factory=list)
    failed: list[RequestResult] = field(default_factory=list)

    def add(self, result: RequestResult) -> None:
        if result.ok:
            self.admitted.append(result)
        elif any(marker in (result.error or "") for marker in REFUSED_MARKERS):
            self.refused.append(result)
        else:
            self.failed.append(result)


def ttft_ms(results: list[RequestResult]) -> list[float]:
    return [(r.first_token_at - r.started) * 1000 for r in results if r.first_token_at]


async def keep_sending(
    send: Callable[[str], Awaitable[RequestResult]], until: float, honor_retry_after: bool
) -> Outcomes:
    outcomes = Outcomes()
    while time.perf_counter() < until:
        result = await send(PROMPT)
        outcomes.add(result)
        if not result.ok:
            pause = result.retry_after_s if honor_retry_after else None
            await asyncio.sleep(pause or RETRY_PAUSE_S)
    return outcomes


async def run_clients(
    http: OpenAIHTTPClient, grpc: GrpcClient, clients: int, seconds: float, honor: bool
) -> Outcomes:
    until = time.perf_counter() + seconds
    senders = [http.send if index % 2 == 0 else grpc.send for index in range(clients)]
    parts = await asyncio.gather(*(keep_sending(send, until, honor) for send in senders))
    total = Outcomes()
    for part in parts:
        total.admitted += part.admitted
        total.refused += part.refused
        total.failed += part.failed
    return total


async def measure(args: argparse.Namespace, config: ClusterConfig) -> None:
    model = config.models[0].name
    http_url = f"http://{config.http.host}:{config.http.port}/v1"
    grpc_target = f"{config.grpc.host}:{config.grpc.port}"
    honor = not args.ignore_retry_after
    async with (
        OpenAIHTTPClient(http_url, model, args.max_tokens) as http,
        GrpcClient(grpc_target, model, args.max_tokens) as grpc,
    ):
        await run_clients(http, grpc, capacity(config), 5, honor)  # warm-up
        full = await run_clients(http, grpc, capacity(config), args.seconds, honor)
        clients = args.factor * capacity(config)
        overloaded = await run_clients(http, grpc, clients, args.seconds, honor)
    report(args, config, clients, full, overloaded)


def report(
    args: argparse.Namespace,
    config: ClusterConfig,
    clients: int,
    full: Outcomes,
    total: Outcomes,
) -> None:
    refusal_ms = [(r.finished - r.started) * 1000 for r in total.refused]
    retry = "ignoring Retry-After" if args.ignore_retry_after else "honouring Retry-After"
    print(
        f"model {config.models[0].name}: capacity {capacity(config)}, {clients} clients "
        f"({args.factor}x, {retry}), {args.seconds:g} s, {args.max_tokens} tokens per request"
    )
    print(
        f"at 1x: admitted {len(full.admitted)}, refused {len(full.refused)}, "
        f"other failures {len(full.failed)}"
    )
    print(
        f"at {args.factor}x: admitted {len(total.admitted)}, refused {len(total.refused)}, "
        f"other failures {len(total.failed)}"
    )
    if refusal_ms:
        p50, p95, p99 = percentiles(refusal_ms)
        within = sum(ms <= REFUSAL_TARGET_MS for ms in refusal_ms) / len(refusal_ms)
        print(
            f"refusal latency  p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms  "
            f"max {max(refusal_ms):6.1f} ms  ({within:.1%} within {REFUSAL_TARGET_MS:g} ms)"
        )
    for label, results in (
        ("TTFT admitted at 1x", full.admitted),
        (f"TTFT admitted at {args.factor}x", total.admitted),
    ):
        timings = ttft_ms(results)
        if timings:
            p50, p95, p99 = percentiles(timings)
            print(f"{label:<24} p50 {p50:6.1f} ms  p95 {p95:6.1f} ms  p99 {p99:6.1f} ms")
    for result in (full.failed + total.failed)[:5]:
        print(f"failure: {result.error}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG)
    parser.add_argument("--factor", type=int, default=4)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--max-tokens", type=int, default=32)
    parser.add_argument(
        "--ignore-retry-after", action="store_true", help="retry a refusal after 50 ms"
    )
    args = parser.parse_args()
    config = load_config(args.config)
    with running_fleet(args.config, config, "overload"):
        asyncio.run(measure(args, config))


if __name__ == "__main__":
    main()
