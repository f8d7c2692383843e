"""The quota arithmetic, on a hand-driven clock."""

from __future__ import annotations

import pytest

from services.quotas.config import QuotaConfig
from services.quotas.ledger import IN_FLIGHT_RETRY_S, WINDOW_S, QuotaLedger


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


def test_requests_per_minute_refuses_the_next_until_the_oldest_leaves(clock: Clock) -> None:
    ledger = QuotaLedger(clock=clock)
    quotas = QuotaConfig(requests_per_minute=2)
    assert ledger.admit("acme", quotas, "a") is None
    clock.now += 10
    assert ledger.admit("acme", quotas, "b") is None
    clock.now += 5
    refusal = ledger.admit("acme", quotas, "c")
    assert refusal is not None and refusal.limit == "requests_per_minute"
    assert refusal.retry_after_s == pytest.approx(WINDOW_S - 15)
    clock.now += refusal.retry_after_s
    assert ledger.admit("acme", quotas, "c") is None


def test_tenants_are_counted_apart(clock: Clock) -> None:
    ledger = QuotaLedger(clock=clock)
    quotas = QuotaConfig(requests_per_minute=1)
    assert ledger.admit("acme", quotas, "a") is None
    assert ledger.admit("globex", quotas, "b") is None
    assert ledger.admit("acme", quotas, "c") is not None


def test_tokens_per_minute_charges_at_settle_and_frees_as_charges_age(clock: Clock) -> None:
    ledger = QuotaLedger(clock=clock)
    quotas = QuotaConfig(tokens_per_minute=100)
    assert ledger.admit("acme", quotas, "a") is None
    ledger.settle("acme", "a", 70)
    clock.now += 20
    assert ledger.admit("acme", quotas, "b") is None  # 70 < 100: admitted, may overshoot
    ledger.settle("acme", "b", 50)
    clock.now += 5
    refusal = ledger.admit("acme", quotas, "c")
    assert refusal is not None and refusal.limit == "tokens_per_minute"
    # 120 charged; once the first 70 leave the window, 50 < 100.
    assert refusal.retry_after_s == pytest.approx(WINDOW_S - 25)
    assert ledger.snapshot("acme")["tokens"] == 120
    clock.now += refusal.retry_after_s
    assert ledger.admit("acme", quotas, "c") is None


def test_concurrent_streams_free_a_slot_when_a_lease_is_settled(clock: Clock) -> None:
    ledger = QuotaLedger(clock=clock)
    quotas = QuotaConfig(concurrent_streams=2)
    assert ledger.admit("acme", quotas, "a") is None
    assert ledger.admit("acme", quotas, "b") is None
    refusal = ledger.admit("acme", quotas, "c")
    assert refusal is not None and refusal.limit == "concurrent_streams"
    assert refusal.retry_after_s == IN_FLIGHT_RETRY_S
    ledger.settle("acme", "a", 0)
    assert ledger.admit("acme", quotas, "c") is None
    assert ledger.snapshot("acme")["in_flight"] == 2


def test_a_lease_never_settled_expires(clock: Clock) -> None:
    ledger = QuotaLedger(clock=clock, lease_ttl_s=600)
    quotas = QuotaConfig(concurrent_streams=1)
    assert ledger.admit("acme", quotas, "lost") is None
    assert ledger.admit("acme", quotas, "b") is not None
    clock.now += 601
    assert ledger.admit("acme", quotas, "b") is None


def test_a_refused_request_takes_nothing(clock: Clock) -> None:
    ledger = QuotaLedger(clock=clock)
    quotas = QuotaConfig(requests_per_minute=1, concurrent_streams=5)
    assert ledger.admit("acme", quotas, "a") is None
    for attempt in range(3):
        assert ledger.admit("acme", quotas, f"refused-{attempt}") is not None
    assert ledger.snapshot("acme") == {"requests": 1, "tokens": 0, "in_flight": 1}
