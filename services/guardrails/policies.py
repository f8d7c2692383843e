"""The guard policies of a cluster, built into pipelines: what guards each request."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.guardrails.check_config import CheckBase, Direction
from services.guardrails.config import GuardrailsConfig
from services.guardrails.factory import (
    NO_SERVICES,
    AnyCheck,
    CheckBuilder,
    CheckServices,
    build_check,
    streamed_scope,
)
from services.guardrails.pipeline import GuardedCheck, GuardPipeline

DIRECTIONS: tuple[Direction, ...] = ("input", "output")


@dataclass(frozen=True)
class RequestGuards:
    """The pipelines one request runs, and the policies they came from."""

    policies: tuple[str, ...]
    input: GuardPipeline
    output: GuardPipeline


class GuardPolicies:
    """Builds each check once (a PII engine or an embedded attack corpus is costly) and each
    combination of route, tenant and requested policies on first use, keyed by the
    policies' names in the order they run."""

    def __init__(
        self,
        config: GuardrailsConfig,
        services: CheckServices = NO_SERVICES,
        *,
        builders: Mapping[str, CheckBuilder] | None = None,
    ) -> None:
        self.config = config
        self._services = services
        self._builders = builders
        self._checks: dict[tuple[str, str, Direction], AnyCheck] = {}
        self._guards: dict[tuple[str, ...], RequestGuards] = {}
        # Fail at configuration time, not on the first request a policy sees.
        for policy in config.policies:
            self._combine((policy.name,))

    async def prepare(self) -> None:
        """Get every check ready (embed the example corpora), so that the first requests
        do not spend their checks' time budgets on it."""
        checks = [check for check in self._checks.values() if hasattr(check, "prepare")]
        await asyncio.gather(*(check.prepare() for check in checks))  # type: ignore[union-attr]

    @property
    def names(self) -> frozenset[str]:
        """Every policy defined: what a request may ask for at most."""
        return frozenset(policy.name for policy in self.config.policies)

    def for_request(
        self,
        *,
        route: str | None,
        model: str | None,
        tenant: str | None,
        requested: Sequence[str] = (),
    ) -> RequestGuards | None:
        """None when no policy applies: the request skips guarding altogether."""
        policies = self.config.policies_for(
            route=route, model=model, tenant=tenant, requested=requested
        )
        if not policies:
            return None
        return self._combine(tuple(policy.name for policy in policies))

    def _combine(self, names: tuple[str, ...]) -> RequestGuards:
        guards = self._guards.get(names)
        if guards is None:
            pipelines = {
                direction: GuardPipeline(
                    [
                        self._guarded(name, check, direction)
                        for name in names
                        for check in self.config.policy(name).checks_on(direction)
                    ],
                    direction,
                )
                for direction in DIRECTIONS
            }
            guards = RequestGuards(names, pipelines["input"], pipelines["output"])
            self._guards[names] = guards
        return guards

    def _guarded(self, policy: str, config: CheckBase, direction: Direction) -> GuardedCheck:
        key = (policy, config.check_name, direction)
        if key not in self._checks:
            self._checks[key] = build_check(
                config, direction, self._services, builders=self._builders
            )
        return GuardedCheck.from_config(self._checks[key], config, streamed=streamed_scope(config))
