"""Per-route, per-variant counters of the router, for `fleet routes stats` and metrics.

Plain in-process counters, one set per router replica, that `fleet routes stats` reads
through ``snapshot()``; fallbacks and shadow copies also go to the Prometheus metrics.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass

from services.router.types import RouteDecision
from services.telemetry.metrics import Metrics, NoMetrics


@dataclass
class ShadowTotals:
    requests: int = 0
    """Copies sent to the shadow model."""
    errors: int = 0
    dropped: int = 0
    """Copies not sent because ``max_in_flight`` were already running."""
    latency_ms_total: float = 0.0
    prompt_tokens: int = 0
    completion_tokens: int = 0

    @property
    def mean_latency_ms(self) -> float:
        answered = self.requests - self.errors
        return self.latency_ms_total / answered if answered else 0.0


class RoutingStats:
    def __init__(self, metrics: Metrics | None = None) -> None:
        self.metrics = metrics or NoMetrics()
        self._requests: Counter[tuple[str, str, str]] = Counter()
        self._fallbacks: Counter[tuple[str, str, str]] = Counter()
        self._failures: Counter[tuple[str, str, str]] = Counter()
        self._shadows: dict[tuple[str, str], ShadowTotals] = {}

    def record_served(self, decision: RouteDecision, *, chosen: str) -> None:
        """``decision`` answered; ``chosen`` is the model routing picked before fallbacks."""
        key = (decision.route, decision.variant, decision.model)
        self._requests[key] += 1
        if decision.model != chosen:
            self._fallbacks[key] += 1
            self.metrics.fallback(route=decision.route, from_model=chosen, to_model=decision.model)

    def record_replica_retry(self, model: str) -> None:
        """A request went to ``model`` again after one of its replicas failed before answering."""
        self.metrics.replica_retry(model=model)

    def record_failed(self, decision: RouteDecision) -> None:
        """No model of the chain answered (counted under the first choice)."""
        self._failures[(decision.route, decision.variant, decision.model)] += 1

    def shadow(self, route: str, model: str) -> ShadowTotals:
        return self._shadows.setdefault((route, model), ShadowTotals())

    def snapshot(self) -> dict[str, list[dict[str, object]]]:
        keys = sorted({*self._requests, *self._failures})
        return {
            "routes": [
                {
                    "route": route,
                    "variant": variant,
                    "model": model,
                    "requests": self._requests[(route, variant, model)],
                    "fallbacks": self._fallbacks[(route, variant, model)],
                    "failures": self._failures[(route, variant, model)],
                }
                for route, variant, model in keys
            ],
            "shadows": [
                {
                    "route": route,
                    "model": model,
                    **asdict(totals),
                    "mean_latency_ms": totals.mean_latency_ms,
                }
                for (route, model), totals in sorted(self._shadows.items())
            ],
        }
