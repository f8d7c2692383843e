"""Who a request is from and what it may reach: the checks both transports run first.

``AccessControl.identify`` turns the presented credentials into a ``Caller`` (401 when they
prove nothing); ``authorize`` and ``limit`` apply the caller's tenant policy (403). Errors
name the caller's own limits only, never another tenant's models or keys.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from services.auth.config import AuthConfig, TenantPolicy
from services.auth.credentials import bearer_token
from services.auth.keys import MalformedKeyError
from services.auth.store import KeyRecord, authenticate
from services.errors import AuthenticationError, InvalidRequestError, PermissionDeniedError
from services.guardrails.config import POLICY_NAME_PATTERN

if TYPE_CHECKING:
    from services.router.requests import OpenAIRequest

logger = logging.getLogger(__name__)

INVALID_KEY = "invalid API key: unknown, revoked or mistyped"
MALFORMED_KEY = "malformed API key: llm-fleet keys read flk_<id>_<secret>"
# What vLLM's (and OpenAI's) completions API asks for when a request names no max_tokens.
API_DEFAULT_MAX_TOKENS = 16
GUARD_POLICY_HEADER = "x-fleet-guard-policy"
"""HTTP header and gRPC metadata key: extra guard policies, comma-separated."""
_POLICY_NAME = re.compile(POLICY_NAME_PATTERN)


@dataclass(frozen=True)
class Credentials:
    """What a request presents: its ``Authorization`` value and the tenant it claims
    (``x-fleet-tenant`` / ``RoutingHints.tenant``), honoured only from trusted upstreams."""

    authorization: str | None = None
    claimed_tenant: str | None = None


@dataclass(frozen=True)
class Caller:
    """The proven identity of a request: its tenant and that tenant's policy."""

    tenant: str | None
    policy: TenantPolicy
    key_id: str | None = None
    """The key that proved it (public); None while authentication is off."""


OPEN_CALLER = Caller(tenant=None, policy=TenantPolicy())
"""Who a request is while authentication is off and it claims no tenant (and in tests of
the layers above the transports)."""


class KeyRing:
    """The keys the cluster accepts now, by key id; replaced whole when the key file changes
    (``services.auth.registry``)."""

    def __init__(self, records: Mapping[str, KeyRecord] | None = None) -> None:
        self.records: Mapping[str, KeyRecord] = dict(records or {})
        self.version = -1
        """The registry's version these records are; -1 until the first load."""

    def replace(self, records: Mapping[str, KeyRecord], version: int) -> None:
        self.records = dict(records)
        self.version = version


class AccessControl:
    """One cluster config's auth rules over the live key ring."""

    def __init__(self, config: AuthConfig | None = None, keys: KeyRing | None = None) -> None:
        self.config = config or AuthConfig(enabled=False)
        self.keys = keys or KeyRing()

    def identify(self, credentials: Credentials) -> Caller:
        if not self.config.enabled:
            tenant = credentials.claimed_tenant or None
            return Caller(tenant=tenant, policy=TenantPolicy())
        token = bearer_token(credentials.authorization)
        try:
            record = authenticate(self.keys.records, token)
        except MalformedKeyError:
            raise AuthenticationError(MALFORMED_KEY) from None
        if record is None:
            raise AuthenticationError(INVALID_KEY)
        tenant = self._acting_tenant(record, credentials.claimed_tenant)
        return Caller(tenant=tenant, policy=self.config.policy_of(tenant), key_id=record.key_id)

    def _acting_tenant(self, record: KeyRecord, claimed: str | None) -> str:
        assert record.tenant is not None
        if not claimed or claimed == record.tenant:
            return record.tenant
        if record.tenant in self.config.trusted_upstreams:
            return claimed
        logger.info(
            "ignored a tenant claim by key %s: tenant %s is not a trusted upstream",
            record.key_id,
            record.tenant,
        )
        return record.tenant

    @staticmethod
    def authorize(caller: Caller, name: str, visible: list[str]) -> None:
        """PermissionDeniedError unless the caller's tenant may name ``name``; ``visible``
        is what the refusal may list (the caller's own names)."""
        if caller.policy.allows(name):
            return
        listing = ", ".join(sorted(visible)) or "none"
        raise PermissionDeniedError(
            f"this API key may not use the model '{name}'; it may use: {listing}",
            param="model",
        )

    @staticmethod
    def authorize_guard_policies(
        caller: Caller, requested: Iterable[str], defined: Collection[str]
    ) -> None:
        """PermissionDeniedError unless the caller's tenant may ask for every policy in
        ``requested`` and each is one of the ``defined`` policies in force; the refusal
        lists only what this caller may ask for."""
        askable = [name for name in caller.policy.guard_policies if name in defined]
        refused = [name for name in requested if name not in askable]
        if not refused:
            return
        listing = ", ".join(sorted(askable)) or "none"
        raise PermissionDeniedError(
            f"'{GUARD_POLICY_HEADER}': this API key may not ask for the guard policy "
            f"'{refused[0]}'; it may ask for: {listing}",
            param=GUARD_POLICY_HEADER,
        )

    @staticmethod
    def limit(caller: Caller, request: OpenAIRequest) -> OpenAIRequest:
        """The request within its tenant's ``max_tokens`` (the limit itself when it named
        none); PermissionDeniedError when it asks for more."""
        ceiling = caller.policy.max_tokens
        if ceiling is None:
            return request
        # The stored values: attribute access on the deprecated max_tokens warns.
        fields = ("max_tokens", "max_completion_tokens")
        asked = {field: vars(request).get(field) for field in fields}
        if asked["max_tokens"] == API_DEFAULT_MAX_TOKENS and ceiling < API_DEFAULT_MAX_TOKENS:
            # The completions API fills in its default before we see the request: a request
            # that named nothing is clamped, not refused.
            return request.model_copy(update={"max_tokens": ceiling})
        for field, value in asked.items():
            if value is not None and value > ceiling:
                raise PermissionDeniedError(
                    f"'{field}' ({value}) exceeds this API key's limit of {ceiling} tokens",
                    param=field,
                )
        if any(value is not None for value in asked.values()):
            return request
        return request.model_copy(update={"max_tokens": ceiling})

    @staticmethod
    def limit_context(
        caller: Caller, request: OpenAIRequest, prompt_tokens: int, prompt_field: str
    ) -> OpenAIRequest:
        """The request within its tenant's ``max_context_tokens``: the prompt (in the body
        field ``prompt_field``) of ``prompt_tokens`` plus what it may generate. One that
        names no limit gets the room left; PermissionDeniedError when the prompt alone, or
        with its limit, is too long."""
        ceiling = caller.policy.max_context_tokens
        if ceiling is None:
            return request
        room = ceiling - prompt_tokens
        if room < 1:
            raise PermissionDeniedError(
                f"'{prompt_field}' is {prompt_tokens} tokens; this API key may send at most "
                f"{ceiling} tokens of context (prompt plus max_tokens)",
                param=prompt_field,
            )
        fields = ("max_tokens", "max_completion_tokens")
        asked = [value for field in fields if (value := vars(request).get(field)) is not None]
        if not asked or (asked == [API_DEFAULT_MAX_TOKENS] and room < API_DEFAULT_MAX_TOKENS):
            # Nothing named (or the completions API's own default): generate what fits.
            return request.model_copy(update={"max_tokens": room})
        if max(asked) > room:
            raise PermissionDeniedError(
                f"the prompt ({prompt_tokens} tokens) plus max_tokens ({max(asked)}) exceeds "
                f"this API key's context limit of {ceiling} tokens",
                param="max_tokens",
            )
        return request


def requested_guard_policies(values: Iterable[str]) -> tuple[str, ...]:
    """The policy names of ``x-fleet-guard-policy`` values (``a,b``; the header or metadata
    key may repeat), without repeats and sorted: the order asked in does not matter, and
    one order per set keeps the combined pipelines few. InvalidRequestError on a value
    that is not a list of policy names (never echoed: it may be anything)."""
    names = [name.strip() for value in values for name in value.split(",")]
    names = [name for name in names if name]
    if not all(_POLICY_NAME.fullmatch(name) for name in names):
        raise InvalidRequestError(
            f"'{GUARD_POLICY_HEADER}' must be guard policy names separated by commas",
            param=GUARD_POLICY_HEADER,
        )
    return tuple(sorted(set(names)))
