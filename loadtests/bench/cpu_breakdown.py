"""Where the CPU goes per request: every process's CPU time during one closed-loop run.

    python -m loadtests.bench.cpu_breakdown --base-url http://127.0.0.1:8000/v1 \\
        --model tiny-qwen2-unguarded [--concurrency 16] [--requests 256] [--max-tokens 64]

On a machine where the serving layer and the engine share the cores, CPU time is the cost
that matters: each millisecond a proxy or router spends per request is taken from vLLM.
Reads every process's CPU time before and after the run and prints CPU milliseconds per
request for each hop (Ray's HTTP proxy, the router, the model replica, vLLM's engine core
and worker, Ray's own daemons, the load generator itself).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psutil

from .clients import OpenAIHTTPClient
from .prompts import load_prompts
from .runner import Send, run_closed_loop

# Process title (Ray and vLLM set them) or command line -> the hop it is.
HOPS = (
    ("ray::ProxyActor", "Ray Serve HTTP/gRPC proxy"),
    ("ray::ServeReplica:llm-fleet:router", "llm-fleet router"),
    ("ray::ServeReplica:embedder", "llm-fleet embedder"),
    ("ray::ServeReplica:model-", "model replica (LLMServer)"),
    ("ray::ServeReplica:default:OpenAiIngress", "Ray Serve LLM ingress"),
    ("ray::ServeReplica:default:LLMServer", "model replica (LLMServer)"),
    ("ray::ServeController", "Ray Serve controller"),
    ("VLLM::EngineCore", "vLLM engine core"),
    ("VLLM::Worker", "vLLM worker"),
    ("vllm.entrypoints.openai.api_server", "vLLM API server"),
    ("raylet", "Ray daemons"),
    ("gcs_server", "Ray daemons"),
    ("ray::", "other Ray processes"),
    ("loadtests.bench", "load generator"),
)


def hop_of(title: str) -> str:
    """The hop a process belongs to, from its title or command line."""
    return next((hop for marker, hop in HOPS if marker in title), "other")


def _cpu_seconds() -> dict[int, tuple[str, float]]:
    found = {}
    for process in psutil.process_iter(["pid", "cmdline", "name", "cpu_times"]):
        times = process.info["cpu_times"]
        if times is None:
            continue
        title = " ".join(process.info["cmdline"] or []) or process.info["name"] or ""
        found[process.info["pid"]] = (title, times.user + times.system)
    return found


def cpu_by_hop(
    before: dict[int, tuple[str, float]], after: dict[int, tuple[str, float]]
) -> dict[str, float]:
    """CPU seconds spent between two snapshots, summed per hop (new processes count fully)."""
    spent: dict[str, float] = {}
    for pid, (title, seconds) in after.items():
        used = seconds - before.get(pid, (title, 0.0))[1]
        if used > 0:
            hop = hop_of(title)
            spent[hop] = spent.get(hop, 0.0) + used
    return spent


@dataclass(frozen=True)
class CpuSample:
    """CPU seconds per hop during one closed-loop run of ``requests`` requests."""

    spent: dict[str, float]
    requests: int
    wall_s: float

    def ms_per_request(self, hop: str) -> float:
        return self.spent.get(hop, 0.0) * 1000 / self.requests

    @property
    def total_ms_per_request(self) -> float:
        return sum(self.spent.values()) * 1000 / self.requests


async def cpu_during(
    send: Send, prompts: Sequence[str], concurrency: int, requests: int
) -> CpuSample:
    """Every process's CPU time around one closed-loop run (after one warm-up round)."""
    await run_closed_loop(send, prompts, concurrency, concurrency)
    before = _cpu_seconds()
    results, wall_s = await run_closed_loop(send, prompts, concurrency, requests)
    after = _cpu_seconds()
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"{failed} requests failed", file=sys.stderr)
    return CpuSample(cpu_by_hop(before, after), len(results), wall_s)


def to_markdown(samples: Mapping[str, CpuSample]) -> str:
    """CPU ms per request: one row per hop, one column per measured system."""
    labels = list(samples)
    totals: dict[str, float] = {}
    for sample in samples.values():
        for hop, seconds in sample.spent.items():
            totals[hop] = totals.get(hop, 0.0) + seconds
    lines = [
        "| process | " + " | ".join(labels) + " |",
        "|---|" + "---:|" * len(labels),
    ]
    for hop in sorted(totals, key=lambda h: -totals[h]):
        cells = [f"{samples[label].ms_per_request(hop):.1f}" for label in labels]
        lines.append(f"| {hop} | " + " | ".join(cells) + " |")
    cells = [f"{samples[label].total_ms_per_request:.1f}" for label in labels]
    lines.append("| total | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.cpu_breakdown")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--model", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompts", default="loadtests/data/prompts.jsonl")
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> CpuSample:
    prompts = [p.prompt for p in load_prompts(args.prompts)]
    async with OpenAIHTTPClient(args.base_url, args.model, args.max_tokens) as client:
        return await cpu_during(client.send, prompts, args.concurrency, args.requests)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    sample = asyncio.run(_run(args))
    print(f"{sample.requests} requests in {sample.wall_s:.1f} s, CPU ms per request:\n")
    print(to_markdown({args.model: sample}), end="")


if __name__ == "__main__":
    main()
