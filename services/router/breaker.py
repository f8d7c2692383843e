"""Per-model circuit breakers, so a dead model is not tried on every request.

A model's circuit opens after ``failure_threshold`` consecutive failures before its
first token (it is unreachable, deleted or crashing). While open, the router skips it
and goes straight to the fallbacks. After ``cooldown_s`` one request probes it
(half-open): success closes the circuit, failure opens it for another cooldown.
Overload does not count: a full queue is not a dead model.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field


class CircuitBreakerConfig(BaseModel):
    """When the router stops trying a failing model, and for how long."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failure_threshold: int = Field(default=3, ge=1)
    """Consecutive failures before a model's circuit opens."""
    cooldown_s: float = Field(default=10, gt=0)
    """Seconds a circuit stays open before one request probes the model again."""


class CircuitState(StrEnum):
    CLOSED = "closed"
    OPEN = "open"
    HALF_OPEN = "half-open"


@dataclass
class _Circuit:
    failures: int = 0
    opened_at: float | None = None
    probing: bool = False


class CircuitBreakers:
    """The circuits of every model; they outlive routing reconfigurations."""

    def __init__(
        self,
        config: CircuitBreakerConfig | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.config = config or CircuitBreakerConfig()
        self._clock = clock
        self._circuits: dict[str, _Circuit] = {}

    def state(self, model: str) -> CircuitState:
        circuit = self._circuits.get(model)
        if circuit is None or circuit.opened_at is None:
            return CircuitState.CLOSED
        if self._clock() - circuit.opened_at < self.config.cooldown_s:
            return CircuitState.OPEN
        return CircuitState.HALF_OPEN

    def retry_in_s(self, model: str) -> float:
        """Seconds until an open circuit lets a probe through (0 when not open)."""
        circuit = self._circuits.get(model)
        if circuit is None or circuit.opened_at is None:
            return 0.0
        return max(0.0, circuit.opened_at + self.config.cooldown_s - self._clock())

    def try_acquire(self, model: str) -> bool:
        """Whether a request may go to ``model`` now; a half-open circuit admits one probe."""
        state = self.state(model)
        if state is CircuitState.CLOSED:
            return True
        if state is CircuitState.OPEN:
            return False
        circuit = self._circuits[model]
        if circuit.probing:
            return False
        circuit.probing = True
        return True

    def record_success(self, model: str) -> None:
        self._circuits.pop(model, None)

    def record_failure(self, model: str) -> None:
        circuit = self._circuits.setdefault(model, _Circuit())
        circuit.failures += 1
        circuit.probing = False
        if circuit.opened_at is not None or circuit.failures >= self.config.failure_threshold:
            circuit.opened_at = self._clock()

    def release(self, model: str) -> None:
        """A probe ended with neither verdict (e.g. overload): let another one try."""
        circuit = self._circuits.get(model)
        if circuit is not None:
            circuit.probing = False

    def open_circuits(self) -> dict[str, float]:
        """Models whose circuit is not closed, with seconds until the next probe."""
        return {
            model: self.retry_in_s(model)
            for model in self._circuits
            if self.state(model) is not CircuitState.CLOSED
        }
