"""Circuit breakers open after consecutive failures, probe once after the cooldown."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.router.breaker import CircuitBreakerConfig, CircuitBreakers, CircuitState


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def breakers(clock: Clock) -> CircuitBreakers:
    return CircuitBreakers(CircuitBreakerConfig(failure_threshold=2, cooldown_s=5), clock)


def open_then_wait_cooldown(breakers: CircuitBreakers, clock: Clock) -> None:
    breakers.record_failure("a")
    breakers.record_failure("a")
    clock.now += 6


def test_opens_after_consecutive_failures_only(breakers: CircuitBreakers) -> None:
    breakers.record_failure("a")
    breakers.record_success("a")
    breakers.record_failure("a")
    assert breakers.state("a") is CircuitState.CLOSED
    breakers.record_failure("a")
    assert breakers.state("a") is CircuitState.OPEN
    assert not breakers.try_acquire("a")
    assert breakers.try_acquire("b")


def test_half_open_admits_one_probe(breakers: CircuitBreakers, clock: Clock) -> None:
    breakers.record_failure("a")
    breakers.record_failure("a")
    assert breakers.retry_in_s("a") == pytest.approx(5)
    clock.now += 5
    assert breakers.state("a") is CircuitState.HALF_OPEN
    assert breakers.try_acquire("a")
    assert not breakers.try_acquire("a")


def test_failed_probe_reopens_for_a_full_cooldown(breakers: CircuitBreakers, clock: Clock) -> None:
    open_then_wait_cooldown(breakers, clock)
    assert breakers.try_acquire("a")
    breakers.record_failure("a")
    assert breakers.state("a") is CircuitState.OPEN
    assert breakers.open_circuits() == {"a": pytest.approx(5)}


def test_successful_probe_closes(breakers: CircuitBreakers, clock: Clock) -> None:
    open_then_wait_cooldown(breakers, clock)
    assert breakers.try_acquire("a")
    breakers.record_success("a")
    assert breakers.state("a") is CircuitState.CLOSED
    assert breakers.open_circuits() == {}


def test_released_probe_lets_another_through(breakers: CircuitBreakers, clock: Clock) -> None:
    open_then_wait_cooldown(breakers, clock)
    assert breakers.try_acquire("a")
    breakers.release("a")
    assert breakers.try_acquire("a")


def test_config_is_validated() -> None:
    with pytest.raises(ValidationError, match="failure_threshold"):
        CircuitBreakerConfig(failure_threshold=0)
