"""Where the time goes inside each process of the request path, by sampling their stacks.

    python -m loadtests.bench.profile --base-url http://127.0.0.1:8000/v1 \\
        --model tiny-qwen2-unguarded [--grpc 127.0.0.1:9000] [--concurrency 16] \\
        [--requests 256] [--out loadtests/results/profile-<UTC>]

`cpu_breakdown` says how many CPU milliseconds each process spends per request; this says
on what. While one closed-loop run streams, py-spy samples the Python stacks of Ray
Serve's proxy, the llm-fleet router, the model replica (Ray Serve LLM's LLMServer) and
vLLM's engine core, without pausing them. Each process's samples are sorted into
categories by the file of the innermost frame (our code by module, JSON, pydantic, the
asyncio loop, Ray's object and actor-call machinery, the HTTP stack, gRPC, vLLM, the
tokenizer...), and its CPU time per request is split in those proportions: CPU
milliseconds per request, and per streamed chunk, for each category in each hop. The
collapsed stacks and a flame graph (SVG) per process land in ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import shutil
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import psutil

from .clients import GrpcClient, OpenAIHTTPClient
from .cpu_breakdown import _cpu_seconds, cpu_by_hop, hop_of
from .prompts import load_prompts
from .runner import Send, run_closed_loop

PROFILED_HOPS = (
    "Ray Serve HTTP/gRPC proxy",
    "llm-fleet router",
    "model replica (LLMServer)",
    "vLLM engine core",
)
# The innermost frame's file (or function) -> category; first match wins.
CATEGORIES = (
    ("services/guardrails", "llm-fleet guardrails"),
    ("services/router", "llm-fleet router core"),
    ("services/api", "llm-fleet HTTP/gRPC adapters"),
    ("services/auth", "llm-fleet auth"),
    ("services/quotas", "llm-fleet quotas"),
    ("services/telemetry", "llm-fleet telemetry"),
    ("services/", "llm-fleet other"),
    ("cluster/models", "llm-fleet model server"),
    ("opentelemetry", "OpenTelemetry"),
    ("json", "JSON"),
    ("pydantic", "pydantic"),
    ("tokenizers", "tokenizer"),
    ("transformers", "tokenizer"),
    ("vllm/", "vLLM"),
    ("ray/serve", "Ray Serve"),
    ("ray/llm", "Ray Serve LLM"),
    ("ray/", "Ray core (actor calls, objects)"),
    ("_raylet", "Ray core (actor calls, objects)"),
    ("grpc", "gRPC"),
    ("starlette", "HTTP stack"),
    ("fastapi", "HTTP stack"),
    ("uvicorn", "HTTP stack"),
    ("h11", "HTTP stack"),
    ("httptools", "HTTP stack"),
    ("asyncio", "asyncio event loop"),
    ("selectors", "asyncio event loop"),
    ("torch", "torch"),
    ("threading", "threads (waiting)"),
)


def category_of(frame: str) -> str:
    """The category of one py-spy frame, ``function (file:line)``."""
    return next((name for marker, name in CATEGORIES if marker in frame), "other")


def self_samples(collapsed: Iterable[str]) -> Counter[str]:
    """Samples per category of the innermost frame, from py-spy's raw (collapsed) lines:
    ``thread;outer frame;...;inner frame count``."""
    counts: Counter[str] = Counter()
    for line in collapsed:
        stack, _, count = line.rstrip().rpartition(" ")
        if not stack or not count.isdigit():
            continue
        counts[category_of(stack.rsplit(";", 1)[-1])] += int(count)
    return counts


def serving_pids() -> dict[str, int]:
    """The busiest process of each profiled hop (the one serving the model under test)."""
    best: dict[str, tuple[float, int]] = {}
    for process in psutil.process_iter(["pid", "cmdline", "name", "cpu_times"]):
        title = " ".join(process.info["cmdline"] or []) or process.info["name"] or ""
        hop, times = hop_of(title), process.info["cpu_times"]
        if hop in PROFILED_HOPS and times is not None:
            busy = times.user + times.system
            if busy >= best.get(hop, (-1.0, 0))[0]:
                best[hop] = (busy, process.info["pid"])
    return {hop: pid for hop, (_, pid) in best.items()}


def py_spy() -> str:
    beside = Path(sys.executable).with_name("py-spy")
    found = str(beside) if beside.exists() else shutil.which("py-spy")
    if found is None:
        raise SystemExit("py-spy is not installed (it is in the dev dependencies)")
    return found


def start_recording(pid: int, seconds: int, out: Path, fmt: str) -> subprocess.Popen[bytes]:
    command = [py_spy(), "record", "--pid", str(pid), "--duration", str(seconds)]
    command += ["--rate", "200", "--nonblocking", "--format", fmt, "--output", str(out)]
    return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


@dataclass(frozen=True)
class HopProfile:
    hop: str
    cpu_ms_per_request: float
    shares: dict[str, float]
    """Category -> fraction of the hop's samples."""


def breakdown(cpu_ms: dict[str, float], samples: dict[str, Counter[str]]) -> list[HopProfile]:
    profiles = []
    for hop in PROFILED_HOPS:
        counts = samples.get(hop, Counter())
        total = sum(counts.values()) or 1
        shares = {name: count / total for name, count in counts.most_common()}
        profiles.append(HopProfile(hop, cpu_ms.get(hop, 0.0), shares))
    return profiles


def to_markdown(profiles: Sequence[HopProfile], chunks_per_request: int) -> str:
    lines = [
        "| hop | category | share | CPU ms / request | CPU µs / chunk |",
        "|---|---|---:|---:|---:|",
    ]
    for profile in profiles:
        lines.append(
            f"| **{profile.hop}** | all | 100% | {profile.cpu_ms_per_request:.2f} | "
            f"{profile.cpu_ms_per_request * 1000 / chunks_per_request:.0f} |"
        )
        for name, share in profile.shares.items():
            if share < 0.02:
                continue
            ms = profile.cpu_ms_per_request * share
            lines.append(
                f"| | {name} | {share:.0%} | {ms:.2f} | {ms * 1000 / chunks_per_request:.0f} |"
            )
    return "\n".join(lines) + "\n"


async def profile_run(
    send: Send, prompts: Sequence[str], args: argparse.Namespace, out: Path, label: str
) -> str:
    await run_closed_loop(send, prompts, args.concurrency, args.concurrency)  # warm
    # A first timed run says how long the measured run lasts (py-spy needs a duration).
    started = time.monotonic()
    await run_closed_loop(send, prompts, args.concurrency, args.requests)
    seconds = max(5, int(time.monotonic() - started))
    pids = serving_pids()
    recordings = {
        hop: (
            start_recording(pid, seconds, out / f"{label}-{slug(hop)}.txt", "raw"),
            start_recording(pid, seconds, out / f"{label}-{slug(hop)}.svg", "flamegraph"),
        )
        for hop, pid in pids.items()
    }
    before = _cpu_seconds()
    results, _ = await run_closed_loop(send, prompts, args.concurrency, args.requests)
    after = _cpu_seconds()
    for raw, svg in recordings.values():
        raw.wait()
        svg.wait()
    spent = cpu_by_hop(before, after)
    cpu_ms = {hop: seconds * 1000 / len(results) for hop, seconds in spent.items()}
    samples = {
        hop: self_samples((out / f"{label}-{slug(hop)}.txt").read_text().splitlines())
        for hop in recordings
        if (out / f"{label}-{slug(hop)}.txt").exists()
    }
    failed = sum(not result.ok for result in results)
    header = f"### {label}: {len(results)} requests at {args.concurrency} streams"
    header += f" ({failed} failed)\n\n" if failed else "\n\n"
    return header + to_markdown(breakdown(cpu_ms, samples), args.max_tokens)


def slug(hop: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in hop.lower()).strip("-")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.profile")
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--grpc", default=None, help="also profile GenerateStream here")
    parser.add_argument("--model", required=True)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--requests", type=int, default=256)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompts", default="loadtests/data/prompts.jsonl")
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    parser.add_argument("--out", type=Path, default=Path(f"loadtests/results/profile-{stamp}"))
    return parser.parse_args(argv)


async def _run(args: argparse.Namespace) -> str:
    prompts = [p.prompt for p in load_prompts(args.prompts)]
    args.out.mkdir(parents=True, exist_ok=True)
    async with OpenAIHTTPClient(args.base_url, args.model, args.max_tokens) as client:
        report = await profile_run(client.send, prompts, args, args.out, f"{args.model}-http")
    if args.grpc:
        async with GrpcClient(args.grpc, args.model, args.max_tokens) as client:
            report += "\n" + await profile_run(
                client.send, prompts, args, args.out, f"{args.model}-grpc"
            )
    return report


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    report = asyncio.run(_run(args))
    (args.out / "profile.md").write_text(report)
    print(report, end="")
    print(f"\ncollapsed stacks and flame graphs in {args.out}")


if __name__ == "__main__":
    main()
