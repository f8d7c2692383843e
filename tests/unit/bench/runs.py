"""Runs with chosen numbers, for the report, ratio and plot tests."""

from loadtests.bench.clients import RequestResult
from loadtests.bench.report import Run
from loadtests.bench.stats import summarize


def closed_run(
    system: str,
    concurrency: int,
    *,
    ttft_s: float,
    tokens: int,
    transport: str = "http",
    round_number: int = 1,
) -> Run:
    """``concurrency`` requests of ``tokens`` tokens each, in one second, first token after
    ``ttft_s``: output tok/s is ``concurrency * tokens``."""
    result = RequestResult(True, None, 0.0, [ttft_s, ttft_s + 0.01], ttft_s + 0.1, tokens)
    summary = summarize([result] * concurrency, 1.0)
    return Run(system, transport, "closed", summary, concurrency=concurrency, round=round_number)
