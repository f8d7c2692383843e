"""The PNG plots of a comparison."""

from pathlib import Path

from loadtests.bench.plots import write_plots
from tests.unit.bench.runs import closed_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def test_latency_and_throughput_plots_are_written(tmp_path: Path) -> None:
    runs = [
        closed_run(system, concurrency, ttft_s=0.01 * concurrency, tokens=64)
        for system in ("vllm", "llm-fleet")
        for concurrency in (1, 4, 16)
    ]

    paths = write_plots(runs, tmp_path / "out", title="(test)")

    assert [p.name for p in paths] == ["latency.png", "throughput.png"]
    for path in paths:
        assert path.read_bytes().startswith(PNG_SIGNATURE)
        assert path.stat().st_size > 10_000  # axes, lines and legend, not an empty canvas


def test_no_closed_loop_runs_no_plots(tmp_path: Path) -> None:
    assert write_plots([], tmp_path) == []
    assert list(tmp_path.iterdir()) == []
