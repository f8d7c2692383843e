"""The standard comparison (``make bench``): llm-fleet over HTTP and gRPC, Ray Serve LLM's
stock ``build_openai_app`` (and Ray's fastest single-model path, ``ray-serve-llm-direct``) and
bare ``vllm serve``, on the same model, one after another.

    python -m loadtests.bench.compare \\
        [--systems vllm,ray-serve-llm,ray-serve-llm-direct,llm-fleet] [--concurrency 1,4,16] \\
        [--requests 128] [--max-tokens 64] [--rounds 1] [--out DIR]

Each system is started, warmed up, measured at every concurrency and stopped before the
next starts; ``--rounds N`` does all of that N times and judges the targets on the median of
the rounds' ratios (each round's runs against bare vLLM's run of the same round).
llm-fleet is measured six ways: HTTP and gRPC, each on the same model with no
guard checks (the route bound to the ``unguarded`` policy, ``tiny-qwen2-unguarded``), with
rule guardrails only (the route bound to ``rules``, ``tiny-qwen2-rules``: PII, secrets,
banned words, prompt length) and with its default guard policy (the model's own name: the
embedded default's ``standard`` checks, which add the embedding model's injection and topic
checks). ``--config loadtests/configs/bench-gpu.yaml`` runs the same comparison with
Mistral 7B on one GPU. One more run per HTTP row at the
highest concurrency reads every process's CPU time (where the time goes, per hop). vLLM's
own ``vllm bench serve`` then measures bare vLLM and llm-fleet's HTTP endpoint again, as a
cross-check by a client we did not write. Writes ``results.json``, ``report.md``, ``latency.png``,
``throughput.png``, the systems' logs and the cross-check's JSON to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import datetime
import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from cluster.auth import key_file
from cluster.config.loader import load_config
from cluster.config.schema import ClusterConfig
from cluster.launcher import running_ray_address
from services.auth.store import KeyStore
from services.client.base import API_KEY_ENV

from .clients import GrpcClient, OpenAIHTTPClient
from .cpu_breakdown import CpuSample, cpu_during
from .cpu_breakdown import to_markdown as cpu_markdown
from .cross_check import cross_check_markdown, load_cross_check
from .environment import machine_markdown
from .plan import RAY_SERVE_LLM_PORT, VLLM_PORT, Target, engine_of, systems_to_run
from .plots import write_plots
from .prompts import load_prompts
from .ratios import ratios_markdown, summary_markdown
from .report import Run, to_json, to_markdown
from .runner import run_closed_loop
from .stats import summarize
from .systems import REPO, Engine, System, SystemFailure, ports_in_use

DEFAULT_CONFIG = REPO / "loadtests/configs/bench.yaml"
WARM_UP_REQUESTS = 8


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench.compare", description=__doc__)
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="llm-fleet's config")
    parser.add_argument("--systems", default="vllm,ray-serve-llm,ray-serve-llm-direct,llm-fleet")
    parser.add_argument("--concurrency", default="1,4,16")
    parser.add_argument("--requests", type=int, default=128, help="requests per run")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompts", default=str(REPO / "loadtests/data/prompts.jsonl"))
    parser.add_argument(
        "--rounds",
        type=int,
        default=1,
        help="measure every system this many times, in turn; the targets are judged on the "
        "medians (this machine's runs vary by a third from one to the next)",
    )
    parser.add_argument("--cross-check-prompts", type=int, default=64, help="0 skips it")
    parser.add_argument("--out", type=Path, default=None, help="default: loadtests/results/<UTC>")
    return parser.parse_args(argv)


def _client(target: Target, args: argparse.Namespace) -> OpenAIHTTPClient | GrpcClient:
    if target.transport == "http":
        return OpenAIHTTPClient(target.address, target.model, args.max_tokens)
    return GrpcClient(target.address, target.model, args.max_tokens)


async def _cpu(target: Target, prompts: list[str], args: argparse.Namespace) -> CpuSample:
    async with _client(target, args) as client:
        return await cpu_during(client.send, prompts, max(args.concurrencies), args.requests)


async def _measure(
    target: Target, prompts: list[str], round_number: int, args: argparse.Namespace
) -> list[Run]:
    runs = []
    async with _client(target, args) as client:
        # First requests pay one-off costs (connections, lazy imports, caches): not measured.
        await run_closed_loop(client.send, prompts, WARM_UP_REQUESTS, WARM_UP_REQUESTS)
        for concurrency in args.concurrencies:
            results, duration = await run_closed_loop(
                client.send, prompts, concurrency, args.requests
            )
            summary = summarize(results, duration)
            runs.append(
                Run(
                    target.label,
                    target.transport,
                    "closed",
                    summary,
                    concurrency=concurrency,
                    round=round_number,
                )
            )
            failed = [r for r in results if not r.ok]
            note = f", first error: {failed[0].error}" if failed else ""
            _say(
                f"  {target.label} {target.transport} c={concurrency}: "
                f"{summary.requests_per_s:.1f} req/s, TTFT p50 {summary.ttft_ms.p50:.0f} ms, "
                f"{summary.errors} errors{note}"
            )
    return runs


def _cross_check(
    system: System, targets: list[Target], engine: Engine, args: argparse.Namespace
) -> None:
    """vLLM's benchmark against each HTTP model name of ``system``."""
    root = system.base_url.removesuffix("/v1")
    for target in (t for t in targets if t.transport == "http"):
        _say(f"  vllm bench serve -> {target.label}")
        command = [
            sys.executable,
            "-m",
            "loadtests.bench.vllm_bench",
            "--base-url",
            root,
            "--model",
            target.model,
            "--tokenizer",
            engine.source,
            "--label",
            target.label,
            "--concurrency",
            f"{min(args.concurrencies)},{max(args.concurrencies)}",
            "--num-prompts",
            str(args.cross_check_prompts),
            "--output-len",
            str(args.max_tokens),
            "--prompts",
            args.prompts,
            "--out",
            str(args.out),
        ]
        log_path = args.out / "logs" / f"vllm-bench-{target.label}.log"
        with log_path.open("wb") as log:
            done = subprocess.run(command, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
        if done.returncode != 0:
            _say(f"  vllm bench serve failed ({done.returncode}); see {log_path}")


def _say(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


@contextlib.contextmanager
def bench_key(config: ClusterConfig) -> Iterator[None]:
    """A key of the tenant ``bench`` for the comparison's clients (ours through
    ``FLEET_API_KEY``, vLLM's benchmark through ``OPENAI_API_KEY``), revoked afterwards."""
    store = KeyStore(key_file(config))
    issued, record = store.create(tenant="bench", name="make bench")
    saved = {name: os.environ.get(name) for name in (API_KEY_ENV, "OPENAI_API_KEY")}
    os.environ.update(dict.fromkeys(saved, issued.token))
    try:
        yield
    finally:
        store.revoke(record.key_id)
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def run(args: argparse.Namespace) -> tuple[list[Run], dict[str, CpuSample]]:
    config = load_config(args.config)
    if not config.auth.enabled:
        return _run(args, config)
    with bench_key(config):
        return _run(args, config)


def _run(args: argparse.Namespace, config: ClusterConfig) -> tuple[list[Run], dict[str, CpuSample]]:
    engine = engine_of(config)
    plan = systems_to_run(args.systems, config, args.config, engine)
    if running_ray_address() is not None:
        raise SystemExit("a Ray cluster is running here: stop it first (`fleet down`)")
    busy = ports_in_use([VLLM_PORT, RAY_SERVE_LLM_PORT, config.http.port, config.grpc.port])
    if busy:
        raise SystemExit(f"ports in use: {busy}; the comparison needs them free")
    prompts = [p.prompt for p in load_prompts(args.prompts)]
    runs: list[Run] = []
    cpu: dict[str, CpuSample] = {}
    for round_number in range(1, args.rounds + 1):
        if args.rounds > 1:
            _say(f"round {round_number} of {args.rounds}")
        for system, targets in plan:
            runs += _round(system, targets, engine, prompts, round_number, cpu, args)
    return runs, cpu


def _round(
    system: System,
    targets: list[Target],
    engine: Engine,
    prompts: list[str],
    round_number: int,
    cpu: dict[str, CpuSample],
    args: argparse.Namespace,
) -> list[Run]:
    """Start ``system``, measure each target, stop it. The first round also reads every
    process's CPU and runs the cross-check."""
    runs: list[Run] = []
    _say(f"{system.name}: starting")
    try:
        seconds = system.start(engine.model, args.out / "logs")
        _say(f"{system.name}: serving after {seconds:.0f} s")
        for target in targets:
            runs += asyncio.run(_measure(target, prompts, round_number, args))
        if round_number == 1:
            # Where the CPU goes: one more busy run per HTTP row, reading every process.
            for target in (t for t in targets if t.transport == "http"):
                cpu[target.label] = asyncio.run(_cpu(target, prompts, args))
            if args.cross_check_prompts and system.name in ("vllm", "llm-fleet"):
                _cross_check(system, targets, engine, args)
    except SystemFailure as error:
        _say(f"{system.name}: {error}")
    finally:
        system.stop()
        _say(f"{system.name}: stopped")
    return runs


def write_report(
    runs: list[Run],
    cpu: dict[str, CpuSample],
    args: argparse.Namespace,
    command: str,
    took_s: float,
) -> Path:
    (args.out / "results.json").write_text(to_json(runs), encoding="utf-8")
    first_round = [run for run in runs if run.round == 1]
    plots = write_plots(
        first_round, args.out, title=f"({args.max_tokens} output tokens per request)"
    )
    sections = [
        f"# llm-fleet load test: {datetime.datetime.now(datetime.UTC):%Y-%m-%d %H:%M} UTC\n",
        machine_markdown(command) + f"- took: {took_s / 60:.1f} minutes\n",
        "## Summary\n",
        summary_markdown(runs),
        "\n## Runs\n",
        to_markdown(runs),
        "\n## Against bare vLLM\n",
        ratios_markdown(runs),
    ]
    if cpu:
        sections += [
            f"\n## CPU per request at {max(args.concurrencies)} streams (ms, every process)\n",
            cpu_markdown(cpu),
        ]
    cross = load_cross_check(args.out)
    if cross:
        sections += [
            "\n## Cross-check: vLLM's `vllm bench serve`\n",
            cross_check_markdown(cross, runs),
        ]
    if plots:
        sections.append("\n" + "\n".join(f"![{p.stem}]({p.name})" for p in plots) + "\n")
    path = args.out / "report.md"
    path.write_text("\n".join(sections), encoding="utf-8")
    return path


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.concurrencies = [int(c) for c in args.concurrency.split(",")]
    if args.rounds < 1:
        raise SystemExit("--rounds: at least 1")
    if args.out is None:
        stamp = datetime.datetime.now(datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
        args.out = REPO / "loadtests/results" / stamp
    args.out.mkdir(parents=True, exist_ok=True)
    command = "python -m loadtests.bench.compare " + " ".join(argv or sys.argv[1:])
    started = time.monotonic()
    runs, cpu = run(args)
    took_s = time.monotonic() - started
    report = write_report(runs, cpu, args, command.strip(), took_s)
    print(report.read_text(encoding="utf-8"))
    _say(f"took {took_s:.0f} s; report: {report}")
    return 0 if runs else 1


if __name__ == "__main__":
    sys.exit(main())
