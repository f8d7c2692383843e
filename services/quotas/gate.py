"""Quotas on the request path: one ledger for the cluster (a Ray actor every router replica
asks), a lease per admitted request, settled with its tokens when it ends.

Only tenants with quotas pay the round trip to the ledger. Should the ledger be unreachable
(its actor restarting), requests pass and the router logs it: quotas bound use, they are not
what keeps a tenant out (keys and policies do that).
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator, Callable, Mapping
from contextlib import aclosing
from typing import Any, Protocol

from services.actors import open_singleton, stop_singleton
from services.errors import QuotaExceededError
from services.quotas.config import QuotaConfig
from services.quotas.ledger import QuotaLedger, Refusal
from services.streaming import ClosesUnstarted

logger = logging.getLogger(__name__)

KEEPER_NAME = "llm-fleet-quotas"


class QuotaKeeper:
    """The cluster's one ``QuotaLedger`` (a Ray actor)."""

    def __init__(self) -> None:
        self._ledger = QuotaLedger()

    def admit(self, tenant: str, quotas: QuotaConfig, lease_id: str) -> Refusal | None:
        return self._ledger.admit(tenant, quotas, lease_id)

    def settle(self, tenant: str, lease_id: str, tokens: int) -> None:
        self._ledger.settle(tenant, lease_id, tokens)

    def snapshot(self, tenant: str) -> dict[str, int]:
        return self._ledger.snapshot(tenant)


def open_keeper() -> Any:
    """The cluster's keeper actor."""
    return open_singleton(QuotaKeeper, KEEPER_NAME)


def close_keeper() -> None:
    stop_singleton(KEEPER_NAME)


class Keeper(Protocol):
    """What the gate needs of the keeper: its calls, awaited."""

    async def admit(self, tenant: str, quotas: QuotaConfig, lease_id: str) -> Refusal | None: ...

    def settle(self, tenant: str, lease_id: str, tokens: int) -> None: ...


class ActorKeeper:
    """The keeper actor behind the ``Keeper`` calls (its handle looked up once)."""

    def __init__(self, open_actor: Callable[[], Any] = open_keeper) -> None:
        self._open_actor = open_actor
        self._actor: Any = None

    def _handle(self) -> Any:
        if self._actor is None:
            self._actor = self._open_actor()
        return self._actor

    async def admit(self, tenant: str, quotas: QuotaConfig, lease_id: str) -> Refusal | None:
        try:
            return await self._handle().admit.remote(tenant, quotas, lease_id)
        except Exception:
            self._actor = None  # looked up again next time
            raise

    def settle(self, tenant: str, lease_id: str, tokens: int) -> None:
        # Nobody waits on it: the answer has gone already.
        self._handle().settle.remote(tenant, lease_id, tokens)


class Lease:
    """One admitted request's place in its tenant's quotas; settle it exactly once."""

    def __init__(self, keeper: Keeper | None, tenant: str, lease_id: str) -> None:
        self._keeper = keeper
        self._tenant = tenant
        self._lease_id = lease_id
        self._settled = False

    def settle(self, tokens: int = 0) -> None:
        if self._settled or self._keeper is None:
            return
        self._settled = True
        try:
            self._keeper.settle(self._tenant, self._lease_id, tokens)
        except Exception as error:
            logger.warning("quota keeper unreachable, tokens not charged: %s", error)

    def settled_after(
        self, chunks: AsyncGenerator[str, None], tokens: Callable[[], int]
    ) -> AsyncGenerator[str, None]:
        """``chunks``, settling the lease with ``tokens()`` when they end, fail or close."""

        async def body() -> AsyncGenerator[str, None]:
            try:
                async with aclosing(chunks):
                    async for chunk in chunks:
                        yield chunk
            finally:
                self.settle(tokens())

        async def closed_before_start() -> None:
            self.settle(tokens())
            await chunks.aclose()

        return ClosesUnstarted(body(), closed_before_start)


def total_tokens(usage: Mapping[str, Any] | None) -> int:
    """What a request costs against ``tokens_per_minute``: prompt plus completion."""
    if not usage:
        return 0
    return int(usage.get("prompt_tokens") or 0) + int(usage.get("completion_tokens") or 0)


UNLIMITED = Lease(None, "", "")
"""The lease of a request whose tenant has no quotas: settling it does nothing."""


class QuotaGate:
    """Admit requests under their tenant's quotas, before any model is called."""

    def __init__(self, keeper: Keeper | None = None) -> None:
        self._keeper = keeper

    async def admit(self, tenant: str | None, quotas: QuotaConfig | None) -> Lease:
        """A lease for the request; QuotaExceededError (429) when a limit refuses it."""
        if self._keeper is None or tenant is None or quotas is None:
            return UNLIMITED
        if not quotas.limits_anything:
            return UNLIMITED
        lease_id = uuid.uuid4().hex
        try:
            refusal = await self._keeper.admit(tenant, quotas, lease_id)
        except Exception as error:
            logger.warning("quota keeper unreachable, request admitted: %s", error)
            return UNLIMITED
        if refusal is not None:
            raise QuotaExceededError(refusal.limit, refusal.retry_after_s)
        return Lease(self._keeper, tenant, lease_id)
