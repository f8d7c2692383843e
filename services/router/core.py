"""The transport-free request path: route, validate, call the model.

HTTP and gRPC adapters both go through ``Router``; routing policies, guardrails
and telemetry hook in here, once.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing, asynccontextmanager
from dataclasses import replace
from functools import partial
from typing import Any

from services.auth.access import OPEN_CALLER, AccessControl, Caller, Credentials
from services.errors import (
    DeadlineExceededError,
    ModelNotFoundError,
    ServerError,
)
from services.quotas.gate import Lease, QuotaGate, total_tokens
from services.router.availability import ModelAvailability
from services.router.backend import ModelBackend
from services.router.breaker import CircuitBreakers
from services.router.catalog import ModelCatalog
from services.router.deadlines import deadline_after, until, within
from services.router.engine_errors import mid_stream_error
from services.router.facts import request_facts
from services.router.fallback_chain import FallbackChain, Opened
from services.router.guarding import Guardrails, GuardSession, is_chat
from services.router.requests import (
    OpenAIRequest,
    endpoint_of,
    input_field,
)
from services.router.results import RoutedResponse, RoutedStream
from services.router.shadow import ShadowMirror
from services.router.sse import as_sse, asks_usage, with_usage
from services.router.stats import RoutingStats
from services.router.stream_facts import StreamFacts
from services.router.types import RequestFacts, RouteDecision, RoutingHints
from services.routing.table import RouteChoice, RoutingTable
from services.routing.tokens import TokenCounter
from services.streaming import ClosesUnstarted
from services.telemetry.metrics import Metrics, NoMetrics
from services.telemetry.request import RequestTelemetry
from services.telemetry.spans import route_span
from services.telemetry.tracing import captures_content


class Router:
    def __init__(
        self,
        catalog: ModelCatalog,
        backend: ModelBackend,
        *,
        routing: RoutingTable | None = None,
        guardrails: Guardrails | None = None,
        availability: ModelAvailability | None = None,
        metrics: Metrics | None = None,
        access: AccessControl | None = None,
        quotas: QuotaGate | None = None,
        token_counter: TokenCounter | None = None,
        timeout_s: float = 600,
    ) -> None:
        self.catalog = catalog
        self.token_counter = token_counter
        """Counts prompts for tenants' context limits (routes and guards get their own)."""
        self.access = access or AccessControl()
        self.quotas = quotas or QuotaGate()
        self.availability = availability or ModelAvailability()
        self.routing = routing or RoutingTable()
        self.guardrails = guardrails or Guardrails()
        self.metrics = metrics or NoMetrics()
        self.stats = RoutingStats(self.metrics)
        self._backend = backend
        self._timeout_s = timeout_s
        self._breakers = CircuitBreakers(self.routing.config.circuit_breaker)
        self._chain = FallbackChain(backend, self.availability, self._breakers, self.stats)
        self._shadows = ShadowMirror(backend, self.stats)

    def reconfigure(
        self,
        catalog: ModelCatalog,
        routing: RoutingTable,
        guardrails: Guardrails | None = None,
        access: AccessControl | None = None,
        token_counter: TokenCounter | None = None,
    ) -> None:
        """Swap the served models, the routing table, the guard policies and the tenant
        rules; requests already routed keep their choice and their guard."""
        self.catalog = catalog
        self.token_counter = token_counter
        self.routing = routing
        self.guardrails = guardrails or Guardrails()
        self.access = access or AccessControl()
        self._breakers.config = routing.config.circuit_breaker

    def identify(self, credentials: Credentials) -> Caller:
        """The caller a request's credentials prove (AuthenticationError when none)."""
        return self.access.identify(credentials)

    def visible_names(self, caller: Caller) -> list[str]:
        """The models and routes ``caller`` may name."""
        names = self.catalog.names + self.routing.aliases
        return [name for name in names if caller.policy.allows(name)]

    def model_cards(self, caller: Caller) -> list[dict[str, Any]]:
        """What ``caller`` may name, as OpenAI ``model`` objects: every served model (with
        the routes that can pick it as ``metadata.aliases``), then every route."""
        allows = caller.policy.allows
        cards = self.catalog.model_cards()
        for card in cards:
            aliases = self.routing.aliases_of(card["id"])
            card["metadata"]["aliases"] = [alias for alias in aliases if allows(alias)]
        return [card for card in cards + self.routing.route_cards() if allows(card["id"])]

    async def drain_shadows(self) -> None:
        """Wait for the shadow copies in flight."""
        await self._shadows.drain()

    @property
    def open_circuits(self) -> dict[str, float]:
        """Models being skipped, with seconds until one request probes them again."""
        return self._breakers.open_circuits()

    async def route(
        self, hints: RoutingHints, request: OpenAIRequest, caller: Caller = OPEN_CALLER
    ) -> RouteChoice:
        """Pick the model for a request: by route (alias) or by the served model's name."""
        return await self._route(hints, request_facts(request), caller)

    async def _route(self, hints: RoutingHints, facts: RequestFacts, caller: Caller) -> RouteChoice:
        with route_span(hints.model) as span:
            choice = await self._choose(hints, facts, caller)
            span.describe(choice.decision, choice.fallbacks)
        return choice

    async def _choose(
        self, hints: RoutingHints, facts: RequestFacts, caller: Caller
    ) -> RouteChoice:
        choice = await self.routing.choose(hints, facts)
        if choice is not None:
            return choice
        if hints.model not in self.catalog:
            raise ModelNotFoundError(hints.model, self.visible_names(caller))
        return RouteChoice(decision=RouteDecision(model=hints.model))

    async def _start(
        self, choice: RouteChoice, request: OpenAIRequest, guard: GuardSession | None
    ) -> Opened:
        """Open the model call down the fallback chain while the prompt's whole-text checks
        run (their block outranks whatever the model did, and closes its call), plus the
        route's shadow copy of a prompt they passed and the per-route counters."""
        judging = guard.judge_prompt() if guard is not None else None
        if judging is None:
            self._mirror(choice, request)
        try:
            decision, first, items = await self._chain.open(
                choice, request, self.catalog, self.routing.config
            )
        except Exception as error:
            if judging is not None:
                await judging
                self._mirror(choice, request)
            if isinstance(error, ServerError):
                self.stats.record_failed(choice.decision)
            raise
        except BaseException:
            if judging is not None:
                judging.cancel()
            raise
        if judging is not None:
            try:
                await judging
            except BaseException:
                await items.aclose()
                raise
            self._mirror(choice, request)
        self.stats.record_served(decision, chosen=choice.decision.model)
        return decision, first, items

    def _mirror(self, choice: RouteChoice, request: OpenAIRequest) -> None:
        if choice.shadow is not None:
            self._shadows.maybe_mirror(choice.decision.route, choice.shadow, request)

    @asynccontextmanager
    async def _permitted(
        self,
        request: OpenAIRequest,
        hints: RoutingHints,
        caller: Caller,
        telemetry: RequestTelemetry,
    ) -> AsyncIterator[tuple[OpenAIRequest, RoutingHints, Lease]]:
        """Check the caller may make the request (its tenant's models, limits and the guard
        policies it may ask for), then admit it under the tenant's quotas: all before any
        model works on it. A request that fails inside gives its quota lease back; one that
        succeeds settles it itself."""
        telemetry.identified(caller.tenant, caller.key_id)
        telemetry.guard_policies_requested(hints.guard_policies)
        # Rules and guard policies see the proven tenant, never one the request claims.
        hints = replace(hints, tenant=caller.tenant)
        request = self.access.limit(caller, request)
        self.access.authorize(caller, hints.model, self.visible_names(caller))
        self.access.authorize_guard_policies(
            caller, hints.guard_policies, self.guardrails.policy_names
        )
        lease = await self.quotas.admit(caller.tenant, caller.policy.quotas)
        try:
            yield request, hints, lease
        except BaseException:
            lease.settle()
            raise

    async def _admit(
        self,
        request: OpenAIRequest,
        hints: RoutingHints,
        caller: Caller,
        telemetry: RequestTelemetry,
    ) -> tuple[RouteChoice, OpenAIRequest, GuardSession | None]:
        """Route the request, then guard its prompt with the policies of that route, of the
        caller's tenant and those it asked for."""
        facts = request_facts(request)
        choice = await self._route(hints, facts, caller)
        decision = choice.decision
        telemetry.routed(decision.model, decision.route, decision.variant)
        if caller.policy.max_context_tokens is not None:
            prompt_tokens = await self._count_prompt(decision.model, facts)
            request = self.access.limit_context(
                caller, request, prompt_tokens, input_field(request)
            )
        request, guard = await self.guardrails.check_prompt(
            hints, choice.decision.model, request, facts
        )
        return choice, request, guard

    async def _count_prompt(self, model: str, facts: RequestFacts) -> int:
        if self.token_counter is None:  # a tenant's limit is never skipped
            raise ServerError("cannot count prompt tokens: no token counter")
        return await self.token_counter.count(model, facts)

    def _telemetry(self, request: OpenAIRequest, transport: str) -> RequestTelemetry:
        return RequestTelemetry(
            self.metrics, request, transport=transport, endpoint=endpoint_of(request)
        )

    async def generate(
        self,
        request: OpenAIRequest,
        hints: RoutingHints,
        *,
        caller: Caller = OPEN_CALLER,
        transport: str = "http",
    ) -> RoutedResponse:
        """The whole answer at once (an HTTP request without ``stream``)."""
        telemetry = self._telemetry(request, transport)
        deadline = deadline_after(hints.timeout_s)
        with telemetry.active():
            async with (
                self._permitted(request, hints, caller, telemetry) as (
                    request,
                    hints,
                    lease,
                ),
                within(deadline),
            ):
                result = await self._generate(request, hints, caller, telemetry)
        body = result.body
        usage = body.usage.model_dump() if body.usage is not None else None
        lease.settle(total_tokens(usage))
        telemetry.answered(
            usage=usage,
            finish_reasons=[str(c.finish_reason) for c in body.choices if c.finish_reason],
            response_id=body.id,
            content=lambda: body.model_dump_json(include={"choices"}),
        )
        telemetry.finish()
        return result

    async def _generate(
        self,
        request: OpenAIRequest,
        hints: RoutingHints,
        caller: Caller,
        telemetry: RequestTelemetry,
    ) -> RoutedResponse:
        choice, request, guard = await self._admit(request, hints, caller, telemetry)
        request = request.model_copy(update={"stream": False})
        try:
            async with asyncio.timeout(self._timeout_s):
                decision, first, items = await self._start(choice, request, guard)
                telemetry.routed(decision.model, decision.route, decision.variant)
                async with aclosing(items):
                    async for _ in items:  # a unary call yields one item; let it finish
                        pass
        except TimeoutError:
            raise DeadlineExceededError(
                f"no answer within the router's {self._timeout_s:g} s timeout"
            ) from None
        if guard is None:
            return RoutedResponse(decision=decision, body=first)
        body = await guard.check_response(first)
        return RoutedResponse(decision=decision, body=body, guard=guard.metadata())

    async def generate_stream(
        self,
        request: OpenAIRequest,
        hints: RoutingHints,
        *,
        caller: Caller = OPEN_CALLER,
        transport: str = "http",
    ) -> RoutedStream:
        """A stream whose first chunk has arrived; its telemetry ends with its last chunk."""
        telemetry = self._telemetry(request, transport)
        deadline = deadline_after(hints.timeout_s)
        with telemetry.active():
            async with (
                self._permitted(request, hints, caller, telemetry) as (
                    request,
                    hints,
                    lease,
                ),
                within(deadline),
            ):
                stream = await self._generate_stream(request, hints, caller, telemetry)
        facts = stream.facts
        assert facts is not None
        chunks: AsyncGenerator[str, None] = stream.chunks
        if deadline is not None:
            chunks = ClosesUnstarted(until(chunks, deadline), chunks.aclose)
        chunks = lease.settled_after(chunks, lambda: total_tokens(facts.usage))
        return replace(stream, chunks=telemetry.observe(chunks, facts))

    async def _generate_stream(
        self,
        request: OpenAIRequest,
        hints: RoutingHints,
        caller: Caller,
        telemetry: RequestTelemetry,
    ) -> RoutedStream:
        choice, request, guard = await self._admit(request, hints, caller, telemetry)
        facts = StreamFacts(keep_usage=asks_usage(request), keeps_text=captures_content())
        # The closing usage chunk is always asked for: telemetry counts tokens with it.
        request = request.model_copy(
            update={"stream": True, "stream_options": with_usage(request.stream_options)}
        )
        decision, first, items = await self._start(choice, request, guard)
        telemetry.routed(decision.model, decision.route, decision.variant)
        on_error = partial(
            mid_stream_error,
            model=decision.model,
            input_field=input_field(request),
            served=self.catalog.names,
        )
        chunks = ClosesUnstarted(as_sse(first, items, facts, on_error), items.aclose)
        if guard is None:
            return RoutedStream(decision=decision, chunks=chunks, facts=facts)
        guarded = ClosesUnstarted(guard.check_stream(chunks, chat=is_chat(request)), chunks.aclose)
        return RoutedStream(decision=decision, chunks=guarded, guard_session=guard, facts=facts)
