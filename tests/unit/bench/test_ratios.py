"""Each system against bare vLLM, and issue 8's targets."""

import math

import pytest

from loadtests.bench.ratios import ratios, ratios_markdown, summary_markdown, targets
from tests.unit.bench.runs import closed_run


def _runs() -> list:
    return [
        closed_run("vllm", 1, ttft_s=0.010, tokens=100),
        closed_run("vllm", 16, ttft_s=0.050, tokens=100),
        closed_run("ray-serve-llm", 16, ttft_s=0.150, tokens=50),
        closed_run("llm-fleet", 1, ttft_s=0.020, tokens=100),
        closed_run("llm-fleet", 16, ttft_s=0.060, tokens=95),
        closed_run("llm-fleet", 16, ttft_s=0.070, tokens=80, transport="grpc"),
    ]


def test_ratios_pair_each_run_with_the_baseline_at_its_concurrency() -> None:
    found = {(r.run.system, r.run.transport, r.run.concurrency): r for r in ratios(_runs())}

    assert set(found) == {
        ("ray-serve-llm", "http", 16),
        ("llm-fleet", "http", 1),
        ("llm-fleet", "http", 16),
        ("llm-fleet", "grpc", 16),
    }
    assert found["llm-fleet", "http", 16].throughput_ratio == pytest.approx(0.95)
    assert found["llm-fleet", "http", 1].ttft_overhead_ms == pytest.approx(10.0)
    assert found["ray-serve-llm", "http", 16].throughput_ratio == pytest.approx(0.5)


def test_a_run_without_a_baseline_at_its_concurrency_is_left_out() -> None:
    runs = [
        closed_run("vllm", 1, ttft_s=0.01, tokens=10),
        closed_run("x", 4, ttft_s=0.1, tokens=10),
    ]

    assert ratios(runs) == []


def test_targets_report_met_and_missed() -> None:
    verdicts = {
        (t.system, t.transport, t.goal.split(" ")[0], "Ray" in t.goal): t for t in targets(_runs())
    }

    http_throughput = verdicts["llm-fleet", "http", "output", False]
    assert http_throughput.met and http_throughput.measured == "0.95x"
    grpc_throughput = verdicts["llm-fleet", "grpc", "output", False]
    assert not grpc_throughput.met and grpc_throughput.measured == "0.80x"
    ttft = verdicts["llm-fleet", "http", "TTFT", False]
    assert ttft.met and ttft.measured == "+10.0 ms"
    assert verdicts["llm-fleet", "grpc", "output", True].met  # 80 tok vs Ray's 50
    assert ("llm-fleet", "grpc", "TTFT", False) not in verdicts  # no c=1 run over gRPC
    assert all(t.system.startswith("llm-fleet") for t in verdicts.values())


def test_markdown_lists_ratios_and_verdicts() -> None:
    text = ratios_markdown(_runs())

    assert "| llm-fleet | http | c=16 | 0.95x | +10.0 |" in text
    assert "| llm-fleet | grpc |" in text and "**no**" in text


def test_a_baseline_without_throughput_gives_nan_not_an_error() -> None:
    runs = [
        closed_run("vllm", 1, ttft_s=0.01, tokens=0),
        closed_run("llm-fleet", 1, ttft_s=0.02, tokens=5),
    ]

    (ratio,) = ratios(runs)

    assert math.isnan(ratio.throughput_ratio)


def test_summary_has_one_row_per_system_and_transport() -> None:
    lines = summary_markdown(_runs()).splitlines()

    rows = {tuple(cell.strip() for cell in line.split("|")[1:3]): line for line in lines[2:]}
    assert set(rows) == {
        ("vllm", "http"),
        ("ray-serve-llm", "http"),
        ("llm-fleet", "http"),
        ("llm-fleet", "grpc"),
    }
    assert rows["vllm", "http"].endswith("| 1.00x (baseline) | - |")
    assert "| 20 ms | 1520 | 16.0 | 60 ms | 0.95x | +10 ms |" in rows["llm-fleet", "http"]
    assert "| n/a | 1280 |" in rows["llm-fleet", "grpc"]  # no run at 1 stream


def _rounds() -> list:
    """Three rounds in which bare vLLM and llm-fleet both vary; llm-fleet's ratio is 0.8,
    0.95 and 1.0 (a run is compared with the baseline of its own round)."""
    runs = []
    for round_number, (base, ours) in enumerate([(100, 80), (60, 57), (90, 90)], start=1):
        runs += [
            closed_run("vllm", 16, ttft_s=0.05, tokens=base, round_number=round_number),
            closed_run("llm-fleet", 16, ttft_s=0.06, tokens=ours, round_number=round_number),
        ]
    return runs


def test_each_round_is_compared_with_its_own_baseline() -> None:
    found = sorted(r.throughput_ratio for r in ratios(_rounds()))

    assert found == pytest.approx([0.8, 0.95, 1.0])


def test_targets_are_judged_on_the_median_over_rounds_with_the_range_shown() -> None:
    (throughput,) = [t for t in targets(_rounds()) if t.goal.startswith("output")]

    assert throughput.met
    assert throughput.measured == "0.95x (0.80x to 1.00x)"
    summary = summary_markdown(_rounds())
    assert "| 0.95x (0.80x to 1.00x) |" in summary
    assert "c=16, round 2" in ratios_markdown(_rounds())
