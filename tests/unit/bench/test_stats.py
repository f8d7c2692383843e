"""Percentiles, TPOT, ITL and the exclusion of errors, on hand-made results."""

import math

import pytest

from loadtests.bench.clients import RequestResult
from loadtests.bench.stats import percentile, summarize


def _ok(started: float, token_times: list[float], finished: float, tokens: int) -> RequestResult:
    return RequestResult(
        ok=True,
        error=None,
        started=started,
        token_times=token_times,
        finished=finished,
        output_tokens=tokens,
    )


def test_percentile_interpolates_linearly() -> None:
    assert percentile([4.0, 1.0, 3.0, 2.0], 50) == 2.5
    assert percentile([1.0, 2.0, 3.0, 4.0], 90) == pytest.approx(3.7)
    assert percentile([1.0, 2.0, 3.0, 4.0], 0) == 1.0
    assert percentile([1.0, 2.0, 3.0, 4.0], 100) == 4.0
    assert percentile([5.0], 99) == 5.0
    assert math.isnan(percentile([], 50))


def test_summary_of_two_ok_requests_and_an_error() -> None:
    results = [
        # TTFT 100 ms, 3 chunks 10 ms apart, 5 tokens (usage), TPOT (0.14-0.1)/4 = 10 ms
        _ok(0.0, [0.100, 0.110, 0.120], finished=0.140, tokens=5),
        # TTFT 300 ms, 2 chunks 50 ms apart, TPOT 60 ms
        _ok(1.0, [1.300, 1.350], finished=1.360, tokens=2),
        # a single token: no TPOT sample, but a TTFT and an E2E
        _ok(2.0, [2.200], finished=2.200, tokens=1),
        RequestResult(False, "HTTP 500: boom", 3.0, [3.001], 9.0, 1),
    ]

    s = summarize(results, duration_s=2.0)

    assert (s.requests, s.errors) == (4, 1)
    assert s.requests_per_s == 1.5
    assert s.output_tokens_per_s == 4.0  # (5 + 2 + 1) / 2 s; the failed request's token excluded
    assert (s.ttft_ms.count, s.ttft_ms.p50) == (3, pytest.approx(200.0))
    assert s.ttft_ms.p90 == pytest.approx(280.0)
    assert s.tpot_ms.count == 2
    assert s.tpot_ms.p50 == pytest.approx(35.0)
    assert s.tpot_ms.p99 == pytest.approx(10 + 50 * 0.99)
    assert s.itl_ms.count == 3
    assert s.itl_ms.p50 == pytest.approx(10.0)
    assert s.itl_ms.p99 == pytest.approx(10 + 40 * 0.98)
    assert s.e2e_ms.count == 3  # the error's 6 s is not in the latencies
    assert s.e2e_ms.p50 == pytest.approx(200.0)
    assert s.e2e_ms.p99 == pytest.approx(360 - 160 * 0.02)


def test_all_errors_give_nan_latencies_not_a_crash() -> None:
    s = summarize([RequestResult(False, "x", 0.0, [], 1.0, 0)], duration_s=1.0)

    assert (s.requests, s.errors, s.requests_per_s) == (1, 1, 0.0)
    assert math.isnan(s.ttft_ms.p50) and s.ttft_ms.count == 0
