"""The ``auth`` section of a cluster config: who may call, and what each tenant may reach.

Authentication is on unless a config turns it off (``enabled: false``), and then every start
warns. A key names its tenant; the tenant's entry here (else ``defaults``) says which models
and routes it may call, how large a request may be and which extra guard policies it may
ask for.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.quotas.config import QuotaConfig

ANY = "*"
TENANT_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$"
AUTH_OFF_WARNING = (
    "authentication is OFF (auth.enabled: false in the cluster config): anyone who reaches "
    "the HTTP or gRPC port may call every model as any tenant"
)
TenantName = Annotated[str, Field(pattern=TENANT_NAME_PATTERN)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TenantPolicy(_Strict):
    """What one tenant's keys may do."""

    models: Annotated[list[Annotated[str, Field(min_length=1)]], Field(min_length=1)] = [ANY]
    """Served models and routes (aliases) the tenant may name; ``*`` for all. A route
    allowed is allowed whole: its variants and fallbacks serve it."""
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    """The most tokens one request may ask to generate. A chat request that names no
    ``max_tokens`` gets this; a completions request keeps its API's default of 16 (this,
    when lower)."""
    max_context_tokens: Annotated[int, Field(ge=2)] | None = None
    """The most tokens one request may occupy: its prompt, as the routed model's tokenizer
    counts it, plus the tokens it may generate. A request that names no ``max_tokens`` gets
    the room left."""
    quotas: QuotaConfig = Field(default_factory=QuotaConfig)
    """Requests and tokens per minute and requests in flight, over all router replicas."""
    guard_policies: list[Annotated[str, Field(min_length=1)]] = Field(default_factory=list)
    """Guard policies (names under ``guardrails.policies``) a request of this tenant may
    ask for on top of its route's and tenant's (``x-fleet-guard-policy``); none by
    default. Asking only ever adds checks, never switches one off."""

    def allows(self, name: str) -> bool:
        return ANY in self.models or name in self.models


class AuthConfig(_Strict):
    enabled: bool = True
    keys_file: str | None = None
    """The key file (digests only) `fleet keys` writes and the cluster reads; relative to
    the config file. None: ``.fleet/keys.json`` of this checkout."""
    defaults: TenantPolicy = Field(default_factory=TenantPolicy)
    """The policy of a tenant with a key but no entry under ``tenants``."""
    tenants: dict[TenantName, TenantPolicy] = Field(default_factory=dict)
    trusted_upstreams: list[TenantName] = Field(default_factory=list)
    """Tenants whose keys may name the tenant they call for (``x-fleet-tenant`` header,
    gRPC ``RoutingHints.tenant``): a gateway or mesh that has authenticated its own
    callers. Everyone else's claim of a tenant is ignored."""

    @model_validator(mode="after")
    def _upstreams_are_declared(self) -> AuthConfig:
        # Trust is given by name, on purpose: never to whoever falls under `defaults`.
        for upstream in self.trusted_upstreams:
            if upstream not in self.tenants:
                raise ValueError(
                    f"trusted_upstreams: '{upstream}' needs its own entry under tenants"
                )
        return self

    def policy_of(self, tenant: str) -> TenantPolicy:
        return self.tenants.get(tenant, self.defaults)
