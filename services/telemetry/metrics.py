"""The router's Prometheus metrics, recorded through Ray's metrics API.

Ray's metrics agent on each node serves every process's metrics at one endpoint
(``telemetry.metrics.port``), next to Ray Serve's and the vLLM engines' own, and
aggregates over replicas; a scrape of one router replica's HTTP port would see only that
replica. Ray prefixes each name with ``ray_``: ``llm_fleet_requests`` is scraped as
``ray_llm_fleet_requests_total``. Labels left empty (a request that named a model, not a
route) are omitted.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

# Seconds. TTFT from a few ms (tiny models) to a cold engine; per token from sub-ms CPU
# decode steps to a loaded GPU; whole requests up to the router's 600 s timeout.
TTFT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60]
TPOT_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 1]
DURATION_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600]

ARM = ("transport", "model", "route", "variant")
"""Labels that say which model and which arm of which route served a request."""


@dataclass(frozen=True)
class RequestRecord:
    """One finished request, as the metrics see it."""

    transport: str
    endpoint: str
    """``chat`` or ``completions``."""
    model: str
    """The model that answered (after fallbacks), or the one named when none did."""
    route: str
    variant: str
    status: str
    """``ok``, ``cancelled`` or the OpenAI error type of the failure."""
    duration_s: float
    ttft_s: float | None = None
    input_tokens: int = 0
    output_tokens: int = 0

    @property
    def tpot_s(self) -> float | None:
        """Mean time per output token after the first."""
        if self.ttft_s is None or self.output_tokens < 2:
            return None
        return (self.duration_s - self.ttft_s) / (self.output_tokens - 1)

    def arm(self) -> dict[str, str]:
        return {
            "transport": self.transport,
            "model": ascii_label(self.model),
            "route": ascii_label(self.route),
            "variant": ascii_label(self.variant),
        }


def ascii_label(value: str) -> str:
    """Ray's metrics take ASCII tag values only; the model a caller named may be any text
    (``\u00e9`` is kept readable as ``\\xe9``)."""
    return value.encode("ascii", "backslashreplace").decode("ascii")


class Metrics(Protocol):
    """What the request path records."""

    def request(self, record: RequestRecord) -> None: ...

    def guardrail_decision(
        self, *, route: str, direction: str, check: str, category: str, action: str, count: int
    ) -> None: ...

    def fallback(self, *, route: str, from_model: str, to_model: str) -> None: ...

    def replica_retry(self, *, model: str) -> None: ...

    def shadow(self, *, route: str, model: str, status: str) -> None: ...


class NoMetrics:
    """Records nothing (unit tests of code that does not look at metrics)."""

    def request(self, record: RequestRecord) -> None:
        pass

    def guardrail_decision(self, **labels: object) -> None:
        pass

    def fallback(self, **labels: str) -> None:
        pass

    def replica_retry(self, **labels: str) -> None:
        pass

    def shadow(self, **labels: str) -> None:
        pass


class RayMetrics:
    """The instruments, created in a Ray worker (a Serve replica)."""

    def __init__(self) -> None:
        from ray.util.metrics import Counter, Histogram

        self._requests = Counter(
            "llm_fleet_requests",
            description="Requests by model, route, arm, transport and outcome.",
            tag_keys=(*ARM, "endpoint", "status"),
        )
        self._duration = Histogram(
            "llm_fleet_request_duration_seconds",
            description="From arrival at the router to the last byte of the answer.",
            boundaries=DURATION_BUCKETS,
            tag_keys=(*ARM, "status"),
        )
        self._ttft = Histogram(
            "llm_fleet_time_to_first_token_seconds",
            description="From arrival at the router to the first streamed chunk sent back.",
            boundaries=TTFT_BUCKETS,
            tag_keys=ARM,
        )
        self._tpot = Histogram(
            "llm_fleet_time_per_output_token_seconds",
            description="Mean time between output tokens after the first, per request.",
            boundaries=TPOT_BUCKETS,
            tag_keys=ARM,
        )
        self._input_tokens = Counter(
            "llm_fleet_input_tokens", description="Prompt tokens.", tag_keys=ARM
        )
        self._output_tokens = Counter(
            "llm_fleet_output_tokens", description="Completion tokens.", tag_keys=ARM
        )
        self._guardrails = Counter(
            "llm_fleet_guardrail_decisions",
            description="Guardrail findings acted on, by check and action.",
            tag_keys=("route", "direction", "check", "category", "action"),
        )
        self._fallbacks = Counter(
            "llm_fleet_fallbacks",
            description="Requests served by a fallback model instead of the one chosen.",
            tag_keys=("route", "from_model", "to_model"),
        )
        self._replica_retries = Counter(
            "llm_fleet_replica_retries",
            description="Requests sent to a model again after a replica failed before answering.",
            tag_keys=("model",),
        )
        self._shadows = Counter(
            "llm_fleet_shadow_requests",
            description="Copies of requests mirrored to shadow models, by outcome.",
            tag_keys=("route", "model", "status"),
        )

    def request(self, record: RequestRecord) -> None:
        arm = record.arm()
        outcome = {**arm, "status": record.status}
        self._requests.inc(tags={**outcome, "endpoint": record.endpoint})
        self._duration.observe(record.duration_s, tags=outcome)
        if record.ttft_s is not None:
            self._ttft.observe(record.ttft_s, tags=arm)
        tpot = record.tpot_s
        if tpot is not None:
            self._tpot.observe(tpot, tags=arm)
        if record.input_tokens:
            self._input_tokens.inc(record.input_tokens, tags=arm)
        if record.output_tokens:
            self._output_tokens.inc(record.output_tokens, tags=arm)

    def guardrail_decision(
        self, *, route: str, direction: str, check: str, category: str, action: str, count: int
    ) -> None:
        labels = {
            "route": route,
            "direction": direction,
            "check": check,
            "category": category,
            "action": action,
        }
        self._guardrails.inc(count, tags=labels)

    def fallback(self, *, route: str, from_model: str, to_model: str) -> None:
        self._fallbacks.inc(tags={"route": route, "from_model": from_model, "to_model": to_model})

    def replica_retry(self, *, model: str) -> None:
        self._replica_retries.inc(tags={"model": model})

    def shadow(self, *, route: str, model: str, status: str) -> None:
        self._shadows.inc(tags={"route": route, "model": model, "status": status})
