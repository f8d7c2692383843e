"""The quota arithmetic: sliding one-minute windows and leases for requests in flight.

Plain and clock-driven, so it is tested without Ray; ``keeper`` runs one ledger for the whole
cluster as a Ray actor.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

from services.quotas.config import QuotaConfig

WINDOW_S = 60.0
# When a request in flight ends there is no telling when the next will: a short wait.
IN_FLIGHT_RETRY_S = 1.0


@dataclass(frozen=True)
class Refusal:
    """Which limit refused a request, and when the same request could pass."""

    limit: str
    retry_after_s: float


@dataclass
class _Usage:
    admitted: deque[float] = field(default_factory=deque)
    charged: deque[tuple[float, int]] = field(default_factory=deque)
    charged_total: int = 0
    in_flight: dict[str, float] = field(default_factory=dict)
    """Lease id -> when it was admitted."""


class QuotaLedger:
    """Every tenant's recent requests, tokens and requests in flight."""

    def __init__(
        self, *, lease_ttl_s: float = 3600, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._clock = clock
        self._lease_ttl_s = lease_ttl_s
        """A lease whose router never settled it (a replica that died) ends after this."""
        self._usage: dict[str, _Usage] = {}

    def admit(self, tenant: str, quotas: QuotaConfig, lease_id: str) -> Refusal | None:
        """Admit one request under ``quotas`` (None), or say which limit refuses it."""
        now = self._clock()
        usage = self._forget_old(tenant, now)
        refusal = self._refusal(usage, quotas, now)
        if refusal is not None:
            return refusal
        usage.admitted.append(now)
        usage.in_flight[lease_id] = now
        return None

    def settle(self, tenant: str, lease_id: str, tokens: int) -> None:
        """End a lease and charge the tokens its request used (prompt plus completion)."""
        usage = self._usage.setdefault(tenant, _Usage())
        usage.in_flight.pop(lease_id, None)
        if tokens > 0:
            usage.charged.append((self._clock(), tokens))
            usage.charged_total += tokens

    def snapshot(self, tenant: str) -> dict[str, int]:
        """The tenant's requests and tokens in the last minute and requests in flight."""
        usage = self._forget_old(tenant, self._clock())
        return {
            "requests": len(usage.admitted),
            "tokens": usage.charged_total,
            "in_flight": len(usage.in_flight),
        }

    def _refusal(self, usage: _Usage, quotas: QuotaConfig, now: float) -> Refusal | None:
        streams, requests, tokens = (
            quotas.concurrent_streams,
            quotas.requests_per_minute,
            quotas.tokens_per_minute,
        )
        if streams is not None and len(usage.in_flight) >= streams:
            return Refusal("concurrent_streams", IN_FLIGHT_RETRY_S)
        if requests is not None and len(usage.admitted) >= requests:
            # The oldest admission leaving the window frees one request.
            return Refusal("requests_per_minute", usage.admitted[0] + WINDOW_S - now)
        if tokens is not None and usage.charged_total >= tokens:
            return Refusal("tokens_per_minute", self._tokens_free_in(usage, tokens, now))
        return None

    @staticmethod
    def _tokens_free_in(usage: _Usage, limit: int, now: float) -> float:
        """Seconds until enough charged tokens leave the window to fall below ``limit``."""
        remaining = usage.charged_total
        for charged_at, tokens in usage.charged:
            remaining -= tokens
            if remaining < limit:
                return charged_at + WINDOW_S - now
        return WINDOW_S

    def _forget_old(self, tenant: str, now: float) -> _Usage:
        usage = self._usage.setdefault(tenant, _Usage())
        horizon = now - WINDOW_S
        while usage.admitted and usage.admitted[0] <= horizon:
            usage.admitted.popleft()
        while usage.charged and usage.charged[0][0] <= horizon:
            usage.charged_total -= usage.charged.popleft()[1]
        stale = [lease for lease, at in usage.in_flight.items() if now - at > self._lease_ttl_s]
        for lease in stale:
            del usage.in_flight[lease]
        return usage
