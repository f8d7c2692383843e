"""When to retry a call, how long to wait, and the deadline that bounds it all."""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace

import grpc

from services.client.errors import FleetClientError


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, for calls that have not produced anything yet.

    Only UNAVAILABLE is retried by default: the request never reached a replica, or the
    cluster asked for it to be sent again, so a retry cannot duplicate work. A stream that
    has delivered a message is never retried (that would start a second, different answer).
    """

    max_retries: int = 3
    initial_backoff_s: float = 0.1
    max_backoff_s: float = 2.0
    multiplier: float = 2.0
    # Spreads the retries of many clients that failed together (+/- this fraction).
    jitter: float = 0.2
    retryable_codes: frozenset[grpc.StatusCode] = field(
        default_factory=lambda: frozenset({grpc.StatusCode.UNAVAILABLE})
    )

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.initial_backoff_s < 0 or self.max_backoff_s < 0 or self.multiplier < 1:
            raise ValueError("backoff must be >= 0 and the multiplier >= 1")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")

    def backoff_s(self, retries_done: int, rng: Callable[[], float] = random.random) -> float:
        """The wait before retry number ``retries_done + 1``."""
        base = min(self.max_backoff_s, self.initial_backoff_s * self.multiplier**retries_done)
        return base * (1 + self.jitter * (2 * rng() - 1))

    def allows(self, code: grpc.StatusCode, retries_done: int, *, produced_anything: bool) -> bool:
        return (
            not produced_anything
            and code in self.retryable_codes
            and retries_done < self.max_retries
        )


class Deadline:
    """One deadline for a whole call, retries and backoff included."""

    def __init__(
        self, timeout_s: float | None, clock: Callable[[], float] = time.monotonic
    ) -> None:
        if timeout_s is not None and timeout_s <= 0:
            raise ValueError("timeout must be > 0 seconds (or None for no deadline)")
        self._clock = clock
        self._expires_at = None if timeout_s is None else clock() + timeout_s

    def remaining_s(self) -> float | None:
        """Seconds left (never below 0), or None when there is no deadline."""
        if self._expires_at is None:
            return None
        return max(0.0, self._expires_at - self._clock())

    def attempt_timeout_s(self) -> float | None:
        """The timeout to give the next attempt; raises if the deadline has passed."""
        remaining = self.remaining_s()
        if remaining is not None and remaining <= 0:
            raise FleetClientError(
                grpc.StatusCode.DEADLINE_EXCEEDED, "the deadline passed before the call finished"
            )
        return remaining

    def leaves_time_for(self, wait_s: float) -> bool:
        remaining = self.remaining_s()
        return remaining is None or wait_s < remaining


class Attempts:
    """The attempts of one call: each one's timeout, and the waits between them."""

    def __init__(self, policy: RetryPolicy, deadline: Deadline) -> None:
        self._policy = policy
        self._deadline = deadline
        self._retries = 0

    def timeout_s(self) -> float | None:
        """The timeout to give the next attempt; raises if the deadline has passed."""
        return self._deadline.attempt_timeout_s()

    def backoff_s(self, error: grpc.RpcError, *, produced_anything: bool) -> float:
        """How long to wait before retrying after ``error``; raises FleetClientError to give up.

        Call it while handling ``error``: the FleetClientError replaces it (``from None``).
        """
        failure = FleetClientError.from_rpc_error(error)
        if not self._policy.allows(
            failure.code, self._retries, produced_anything=produced_anything
        ):
            raise failure from None
        wait_s = self._policy.backoff_s(self._retries)
        # Sleeping past the deadline only to fail with DEADLINE_EXCEEDED would hide the
        # real cause; surface the UNAVAILABLE instead.
        if not self._deadline.leaves_time_for(wait_s):
            raise failure from None
        self._retries += 1
        return wait_s


def resolve_policy(retry_policy: RetryPolicy | None, max_retries: int | None) -> RetryPolicy:
    """``max_retries`` is the shorthand; it overrides the policy's own count when given."""
    policy = retry_policy or RetryPolicy()
    if max_retries is None:
        return policy
    return replace(policy, max_retries=max_retries)
