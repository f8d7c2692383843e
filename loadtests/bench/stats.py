"""Summary statistics of a run, with the metrics the LLM-serving field reports.

* TTFT (time to first token): ``first_token_at - started``; prefill plus queueing.
* TPOT (time per output token): ``(finished - first_token_at) / (output_tokens - 1)`` per
  request with at least two tokens; the mean decode pace a user sees after the first token.
* ITL (inter-token latency): every gap between consecutive streamed chunks, pooled over all
  requests; its tail shows stalls (e.g. a long prefill batched in) that TPOT averages away.
* E2E: ``finished - started``.

All latencies are in milliseconds. Failed requests count in ``errors`` but are excluded
from every latency statistic and from the output-token throughput.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

from .clients import RequestResult

PERCENTILES = (50.0, 90.0, 99.0)


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile by linear interpolation between closest ranks.

    This is numpy's default ("linear", Hyndman-Fan type 7): the rank is
    ``(n - 1) * q / 100`` and a fractional rank interpolates between its two neighbours,
    e.g. the p50 of ``[1, 2, 3, 4]`` is 2.5 and its p90 is 3.7. Empty input gives NaN.
    """
    if not values:
        return math.nan
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100.0
    low = math.floor(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Distribution:
    """p50/p90/p99 (ms) of one latency metric, and how many samples they come from."""

    p50: float
    p90: float
    p99: float
    count: int

    @classmethod
    def of(cls, values_ms: Sequence[float]) -> Distribution:
        p50, p90, p99 = (percentile(values_ms, q) for q in PERCENTILES)
        return cls(p50=p50, p90=p90, p99=p99, count=len(values_ms))


@dataclass(frozen=True)
class Summary:
    """One run's throughput and latency distributions."""

    requests: int
    errors: int
    duration_s: float
    requests_per_s: float
    output_tokens_per_s: float
    ttft_ms: Distribution
    tpot_ms: Distribution
    itl_ms: Distribution
    e2e_ms: Distribution

    def to_dict(self) -> dict[str, object]:
        """A JSON-ready dict (nested distributions as dicts; NaN stays NaN)."""
        return asdict(self)


def summarize(results: Sequence[RequestResult], duration_s: float) -> Summary:
    """Summarise ``results`` of a run that took ``duration_s`` seconds of wall clock.

    ``requests_per_s`` counts successful requests only (goodput), like the tokens.
    """
    ok = [r for r in results if r.ok]
    ttft = [(r.first_token_at - r.started) * 1000 for r in ok if r.first_token_at is not None]
    tpot = [
        (r.finished - r.first_token_at) * 1000 / (r.output_tokens - 1)
        for r in ok
        if r.first_token_at is not None and r.output_tokens >= 2
    ]
    itl = [
        (later - earlier) * 1000
        for r in ok
        for earlier, later in zip(r.token_times, r.token_times[1:], strict=False)
    ]
    e2e = [(r.finished - r.started) * 1000 for r in ok]
    per_s = 1.0 / duration_s if duration_s > 0 else math.nan
    return Summary(
        requests=len(results),
        errors=len(results) - len(ok),
        duration_s=duration_s,
        requests_per_s=len(ok) * per_s,
        output_tokens_per_s=sum(r.output_tokens for r in ok) * per_s,
        ttft_ms=Distribution.of(ttft),
        tpot_ms=Distribution.of(tpot),
        itl_ms=Distribution.of(itl),
        e2e_ms=Distribution.of(e2e),
    )
