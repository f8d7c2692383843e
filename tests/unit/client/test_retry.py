import grpc
import pytest

from services.client import FleetClientError, RetryPolicy
from services.client.retry import Deadline, resolve_policy


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_backoff_grows_and_is_capped() -> None:
    policy = RetryPolicy(initial_backoff_s=0.1, max_backoff_s=0.5, multiplier=2, jitter=0)

    assert [policy.backoff_s(n) for n in range(5)] == pytest.approx([0.1, 0.2, 0.4, 0.5, 0.5])


def test_jitter_stays_within_its_fraction() -> None:
    policy = RetryPolicy(initial_backoff_s=1, max_backoff_s=1, jitter=0.2)

    assert policy.backoff_s(0, rng=lambda: 0.0) == pytest.approx(0.8)
    assert policy.backoff_s(0, rng=lambda: 0.999999) == pytest.approx(1.2, abs=1e-5)


def test_only_unavailable_and_only_before_anything_was_produced() -> None:
    policy = RetryPolicy(max_retries=2)
    unavailable = grpc.StatusCode.UNAVAILABLE

    assert policy.allows(unavailable, 0, produced_anything=False)
    assert not policy.allows(unavailable, 0, produced_anything=True)
    assert not policy.allows(unavailable, 2, produced_anything=False)
    assert not policy.allows(grpc.StatusCode.INTERNAL, 0, produced_anything=False)
    assert not policy.allows(grpc.StatusCode.RESOURCE_EXHAUSTED, 0, produced_anything=False)


def test_max_retries_shorthand_overrides_the_policy() -> None:
    assert resolve_policy(None, None) == RetryPolicy()
    assert resolve_policy(RetryPolicy(initial_backoff_s=1), 0) == RetryPolicy(
        initial_backoff_s=1, max_retries=0
    )


@pytest.mark.parametrize(
    "kwargs", [{"max_retries": -1}, {"multiplier": 0.5}, {"jitter": 1.0}, {"max_backoff_s": -1}]
)
def test_nonsense_policies_are_rejected(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        RetryPolicy(**kwargs)


def test_deadline_counts_down_and_then_raises_deadline_exceeded() -> None:
    clock = FakeClock()
    deadline = Deadline(2.0, clock=clock)

    assert deadline.attempt_timeout_s() == pytest.approx(2.0)
    clock.now += 1.5
    assert deadline.attempt_timeout_s() == pytest.approx(0.5)
    assert deadline.leaves_time_for(0.4)
    assert not deadline.leaves_time_for(0.6)
    clock.now += 1
    with pytest.raises(FleetClientError) as caught:
        deadline.attempt_timeout_s()
    assert caught.value.code is grpc.StatusCode.DEADLINE_EXCEEDED


def test_no_deadline_means_no_timeout() -> None:
    deadline = Deadline(None)

    assert deadline.attempt_timeout_s() is None
    assert deadline.leaves_time_for(1e9)


def test_a_timeout_must_be_positive() -> None:
    with pytest.raises(ValueError):
        Deadline(0)
