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
from collections.abc import Sequence

import psutil

from .clients import OpenAIHTTPClient
from .prompts import load_prompts
from .runner import run_closed_loop

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


def to_markdown(spent: dict[str, float], requests: int, wall_s: float) -> str:
    lines = [
        f"{requests} requests in {wall_s:.1f} s; "
        f"{psutil.cpu_count()} CPUs = {psutil.cpu_count() * wall_s:.1f} CPU-s available",
        "",
        "| process | CPU s | CPU ms / request | share |",
        "|---|---:|---:|---:|",
    ]
    total = sum(spent.values())
    for hop, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        lines.append(
            f"| {hop} | {seconds:.2f} | {seconds * 1000 / requests:.2f} | {seconds / total:.0%} |"
        )
    lines.append(f"| total | {total:.2f} | {total * 1000 / requests:.2f} | 100% |")
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


async def _run(args: argparse.Namespace) -> tuple[dict[str, float], float, int]:
    prompts = [p.prompt for p in load_prompts(args.prompts)]
    async with OpenAIHTTPClient(args.base_url, args.model, args.max_tokens) as client:
        await run_closed_loop(client.send, prompts, args.concurrency, args.concurrency)
        before = _cpu_seconds()
        results, wall_s = await run_closed_loop(
            client.send, prompts, args.concurrency, args.requests
        )
        after = _cpu_seconds()
    failed = sum(not r.ok for r in results)
    if failed:
        print(f"{failed} requests failed", file=sys.stderr)
    return cpu_by_hop(before, after), wall_s, len(results)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    spent, wall_s, requests = asyncio.run(_run(args))
    print(to_markdown(spent, requests, wall_s), end="")


if __name__ == "__main__":
    main()
