"""vLLM's benchmark's numbers next to ours."""

import json
from pathlib import Path

from loadtests.bench.cross_check import cross_check_markdown, load_cross_check
from tests.unit.bench.runs import closed_run


def _row(system: str, concurrency: int, tok_s: float, ttft_ms: float) -> dict:
    return {
        "system": system,
        "concurrency": concurrency,
        "completed": 64,
        "failed": 0,
        "request_throughput": tok_s / 64,
        "output_throughput": tok_s,
        "median_ttft_ms": ttft_ms,
        "p99_ttft_ms": ttft_ms * 2,
        "median_tpot_ms": 2.0,
        "median_itl_ms": 2.0,
        "median_e2el_ms": 130.0,
    }


def test_rows_are_read_from_every_system_file(tmp_path: Path) -> None:
    (tmp_path / "vllm-bench-vllm.json").write_text(json.dumps([_row("vllm", 16, 2000, 20)]))
    (tmp_path / "vllm-bench-llm-fleet.json").write_text(
        json.dumps([_row("llm-fleet", 16, 1800, 30)])
    )
    (tmp_path / "results.json").write_text("[]")

    rows = load_cross_check(tmp_path)

    assert sorted(row["system"] for row in rows) == ["llm-fleet", "vllm"]


def test_both_clients_ratios_side_by_side() -> None:
    rows = [_row("vllm", 16, 2000, 20), _row("llm-fleet", 16, 1800, 30)]
    runs = [
        closed_run("vllm", 16, ttft_s=0.010, tokens=100),
        closed_run("llm-fleet", 16, ttft_s=0.018, tokens=92),
    ]

    text = cross_check_markdown(rows, runs)

    assert "| llm-fleet | c=16 | 0.90x | 0.92x | +10.0 | +8.0 |" in text
    assert "| vllm | c=16 | 31.25 | 2000.0 | 20.0 | 2.00 | 0 |" in text
