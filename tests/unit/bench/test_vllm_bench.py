"""The command line handed to vLLM's benchmark and the dataset it reads."""

import json
from pathlib import Path

from loadtests.bench.vllm_bench import benchmark_argv, parse_args, sharegpt_dataset


def test_our_prompts_become_a_sharegpt_dataset(tmp_path: Path) -> None:
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"prompt": "first", "kind": "short"}\n{"prompt": "second"}\n')

    path = sharegpt_dataset(str(prompts), tmp_path)

    rows = json.loads(path.read_text())
    assert [row["conversations"][0] for row in rows] == [
        {"from": "human", "value": "first"},
        {"from": "human", "value": "second"},
    ]
    assert all(len(row["conversations"]) == 2 for row in rows)  # vLLM skips single turns


def test_the_benchmark_gets_fixed_lengths_and_our_dataset(tmp_path: Path) -> None:
    args = parse_args(
        ["--base-url", "http://h:1", "--model", "m", "--tokenizer", "t", "--label", "x"]
        + ["--out", str(tmp_path), "--output-len", "32"]
    )

    argv = benchmark_argv(args, 16, tmp_path / "d.json")

    def value(flag: str) -> str:
        return argv[argv.index(flag) + 1]

    assert value("--dataset-name") == "sharegpt"
    assert value("--dataset-path") == str(tmp_path / "d.json")
    assert value("--sharegpt-output-len") == "32"
    assert value("--max-concurrency") == "16"
    assert value("--endpoint") == "/v1/completions"
    assert "--ignore-eos" in argv
