"""The ``guardrails`` section of a cluster config: named guard policies and their bindings.

Precedence: a request gets the policy bound to the route it named (else to the served model,
else ``default``), and the policy bound to its tenant runs *on top of* it: both policies'
checks run and the strictest action wins (block > redact > flag). A tenant binding can add
checks, never switch off the route's, so no tenant can opt out of an operator's route policy.

A request may also ask for more policies by name (``x-fleet-guard-policy``), from those its
tenant's auth policy lists; they run on top of both in the same way. Only adding is
offered: the route's and the tenant's policies are the operator's floor (data that must
never reach a model, a judge on a public route), and a request, whoever sends it, is not
trusted to lower it. A caller that wants stricter handling for some traffic gets it; one
that wants less asks the operator for another route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from pydantic import Field, model_validator

from services.guardrails.check_config import (
    CHECK_KINDS,
    CheckBase,
    CheckConfig,
    Direction,
    Strict,
)

POLICY_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$"


class GuardPolicyConfig(Strict):
    """A named set of checks, bound to routes, models or tenants."""

    name: Annotated[str, Field(pattern=POLICY_NAME_PATTERN)]
    description: str = ""
    checks: list[CheckConfig] = Field(default_factory=list)
    """Run in this order; on each direction, the first blocking finding stops the scan."""

    @model_validator(mode="after")
    def _check_names_unique(self) -> GuardPolicyConfig:
        names = [check.check_name for check in self.checks]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(
                f"checks: names must be unique within policy '{self.name}'; repeated: "
                f"{', '.join(repeated)} (give each check its own `name`)"
            )
        return self

    def checks_on(self, direction: Direction) -> list[CheckBase]:
        return [check for check in self.checks if check.runs_on(direction)]


Binding = str | list[str]
"""One policy, or several run together in order (``[standard, judged]``)."""


def _names(binding: Binding | None) -> list[str]:
    if binding is None:
        return []
    return [binding] if isinstance(binding, str) else list(binding)


class GuardrailsConfig(Strict):
    """Every guard policy of the cluster and where each applies."""

    policies: list[GuardPolicyConfig] = Field(default_factory=list)
    default: Binding | None = None
    """The policies of requests whose route and model have no binding; None runs none."""
    routes: dict[str, Binding] = Field(default_factory=dict)
    """Route alias or served model name -> policies. A route's binding beats the binding of
    the model it picks."""
    tenants: dict[str, Binding] = Field(default_factory=dict)
    """Tenant -> policies, run on top of the route's (both apply). Which policies a
    tenant's requests may ask for themselves is in ``auth`` (``guard_policies``)."""

    @model_validator(mode="after")
    def _references_exist(self) -> GuardrailsConfig:
        names = [policy.name for policy in self.policies]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"policies: names must be unique; repeated: {', '.join(repeated)}")
        known = set(names)
        listing = ", ".join(sorted(known)) or "none"
        bound = [("default", self.default)]
        bound += [(f"routes.{key}", value) for key, value in self.routes.items()]
        bound += [(f"tenants.{key}", value) for key, value in self.tenants.items()]
        for field, binding in bound:
            for policy in _names(binding):
                if policy not in known:
                    raise ValueError(f"{field}: unknown policy '{policy}'; defined: {listing}")
        return self

    @property
    def counts_tokens(self) -> bool:
        """Whether a check needs the served models' tokenizers."""
        return any(check.type == "max_prompt_tokens" for p in self.policies for check in p.checks)

    def policy(self, name: str) -> GuardPolicyConfig:
        return next(policy for policy in self.policies if policy.name == name)

    def policies_for(
        self,
        *,
        route: str | None = None,
        model: str | None = None,
        tenant: str | None = None,
        requested: Sequence[str] = (),
    ) -> list[GuardPolicyConfig]:
        """The policies that apply to one request: the route's first, then the tenant's,
        then those it asked for (already authorized; sorted, as their order is not the
        caller's to choose). A LoRA adapter (``<model>:<adapter>``) not named here is
        guarded like its base model: a fine-tune must not shed the base's guards."""
        base = (
            self.routes.get(route or "")
            or self.routes.get(model or "")
            or self.routes.get((model or "").partition(":")[0])
            or self.default
        )
        names = _names(base) + _names(self.tenants.get(tenant or "")) + sorted(requested)
        return [self.policy(name) for name in dict.fromkeys(names)]

    def checks_for(
        self,
        direction: Direction,
        *,
        route: str | None = None,
        model: str | None = None,
        tenant: str | None = None,
    ) -> list[CheckBase]:
        """The checks of one direction of one request, in the order they run."""
        policies = self.policies_for(route=route, model=model, tenant=tenant)
        return [check for policy in policies for check in policy.checks_on(direction)]


__all__ = ["CHECK_KINDS", "CheckConfig", "GuardPolicyConfig", "GuardrailsConfig"]
