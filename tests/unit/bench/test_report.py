"""The Markdown table and the JSON report."""

import json
from pathlib import Path

from loadtests.bench.clients import RequestResult
from loadtests.bench.report import COLUMNS, Run, to_json, to_markdown, write_reports
from loadtests.bench.stats import summarize


def _runs() -> list[Run]:
    ok = RequestResult(True, None, 0.0, [0.1, 0.12], 0.2, 3)
    failed = RequestResult(False, "UNAVAILABLE: down", 0.0, [], 0.5, 0)
    return [
        Run("llm-fleet", "http", "closed", summarize([ok, ok], 1.0), concurrency=4),
        Run("llm-fleet", "grpc", "open", summarize([ok, failed], 1.0), rate=2.5),
        Run("vllm", "http", "closed", summarize([failed], 1.0), concurrency=1),
    ]


def test_markdown_has_a_header_and_one_row_per_run() -> None:
    lines = to_markdown(_runs()).splitlines()

    assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
    assert set(lines[1]) <= set("|-:")
    assert len(lines) == 2 + 3
    assert all(line.count("|") == len(COLUMNS) + 1 for line in lines)
    assert "| llm-fleet | http | c=4 |" in lines[2]
    assert "| llm-fleet | grpc | 2.5 req/s |" in lines[3]
    assert lines[3].endswith("| 1/2 |")
    assert "n/a" in lines[4]  # no successful request: no latencies


def test_json_is_strict_and_labelled(tmp_path: Path) -> None:
    runs = _runs()
    rows = json.loads(to_json(runs))

    assert [(r["system"], r["transport"], r["mode"]) for r in rows] == [
        ("llm-fleet", "http", "closed"),
        ("llm-fleet", "grpc", "open"),
        ("vllm", "http", "closed"),
    ]
    assert rows[0]["concurrency"] == 4 and rows[1]["rate"] == 2.5
    assert rows[0]["ttft_ms"]["p50"] == 100.0
    assert rows[2]["ttft_ms"]["p50"] is None  # NaN written as null

    json_path, md_path = write_reports(runs, tmp_path / "out")
    assert json.loads(json_path.read_text()) == rows
    assert md_path.read_text() == to_markdown(runs)
