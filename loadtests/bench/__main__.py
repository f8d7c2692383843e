"""Command line: ``python -m loadtests.bench --base-url URL | --grpc HOST:PORT ...``.

Runs one closed-loop run per ``--concurrency`` value (or one open-loop run per ``--rate``
value), prints the Markdown table and writes ``results.json``, ``results.md`` and (closed
loop) ``latency.png`` / ``throughput.png`` to ``--out``.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from .clients import GrpcClient, OpenAIHTTPClient, RequestResult
from .plots import write_plots
from .prompts import load_prompts
from .report import Run, to_markdown, write_reports
from .runner import run_closed_loop, run_open_loop
from .stats import summarize


def _ints(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _floats(text: str) -> list[float]:
    return [float(part) for part in text.split(",") if part.strip()]


def _report_errors(label: str, results: Sequence[RequestResult]) -> None:
    """Name the first error of a run on stderr: the table only counts them."""
    failed = [r for r in results if not r.ok]
    if failed:
        print(f"{label}: {len(failed)} failed, first: {failed[0].error}", file=sys.stderr)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """The CLI's options (see the module docstring)."""
    parser = argparse.ArgumentParser(prog="python -m loadtests.bench", description=__doc__)
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--base-url", help="OpenAI base URL, e.g. http://127.0.0.1:8000/v1")
    target.add_argument("--grpc", help="fleet gRPC target, e.g. 127.0.0.1:9000")
    parser.add_argument("--model", required=True)
    parser.add_argument("--system", default="llm-fleet", help="label of the system under test")
    parser.add_argument("--concurrency", type=_ints, default=[1, 4, 16], help="e.g. 1,4,16")
    parser.add_argument(
        "--rate", type=_floats, default=None, help="open loop: Poisson req/s, e.g. 1,2,4"
    )
    parser.add_argument("--requests", type=int, default=64, help="requests per run")
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--prompts", default="loadtests/data/prompts.jsonl")
    parser.add_argument("--seed", type=int, default=0, help="seed of the Poisson arrivals")
    parser.add_argument("--timeout", type=float, default=600.0, help="per-request seconds")
    parser.add_argument("--out", default="loadtests/results/", help="git-ignored by default")
    return parser.parse_args(argv)


async def run(args: argparse.Namespace) -> list[Run]:
    """Every requested run against one target, in order, sharing one client."""
    prompts = [p.prompt for p in load_prompts(args.prompts)]
    if args.base_url:
        transport = "http"
        client: OpenAIHTTPClient | GrpcClient = OpenAIHTTPClient(
            args.base_url, args.model, args.max_tokens, timeout_s=args.timeout
        )
    else:
        transport = "grpc"
        client = GrpcClient(args.grpc, args.model, args.max_tokens, timeout_s=args.timeout)
    runs: list[Run] = []
    async with client:
        if args.rate:
            for rate in args.rate:
                results, duration = await run_open_loop(
                    client.send, prompts, rate, args.requests, args.seed
                )
                runs.append(
                    Run(args.system, transport, "open", summarize(results, duration), rate=rate)
                )
                _report_errors(f"{transport} {rate:g} req/s", results)
                print(f"done: {transport} {rate:g} req/s", file=sys.stderr)
        else:
            for concurrency in args.concurrency:
                results, duration = await run_closed_loop(
                    client.send, prompts, concurrency, args.requests
                )
                runs.append(
                    Run(
                        args.system,
                        transport,
                        "closed",
                        summarize(results, duration),
                        concurrency=concurrency,
                    )
                )
                _report_errors(f"{transport} c={concurrency}", results)
                print(f"done: {transport} c={concurrency}", file=sys.stderr)
    return runs


def main(argv: Sequence[str] | None = None) -> int:
    """Run, print the table, write the reports; exit 1 when every request failed."""
    args = parse_args(argv)
    runs = asyncio.run(run(args))
    print(to_markdown(runs), end="")
    json_path, md_path = write_reports(runs, args.out)
    plots = write_plots(runs, args.out, title=f"({args.system}, {args.max_tokens} tokens out)")
    written = ", ".join(str(path) for path in (json_path, md_path, *plots))
    print(f"wrote {written}", file=sys.stderr)
    all_failed = all(r.summary.errors == r.summary.requests for r in runs)
    return 1 if runs and all_failed else 0


if __name__ == "__main__":
    sys.exit(main())
