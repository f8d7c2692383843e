"""Guardrails on the request path: the prompt before any model sees it, the completion
before the caller does.

The prompt's span checks (PII, secrets, patterns) finish before the model call starts: they
decide what the model may see. Its whole-text checks (injection, topics, a judge; an
embedder or model call each) only ever block, so they run while the model reads the
prompt, and their verdict gates the answer: nothing of it goes out, and the model call is
closed, if they block. That takes their time off the time to first token.

Policies are chosen after routing: a route's policy beats its model's, and the length
limit counts tokens of the model that was picked. The router sees the raw prompt to route
it (the embedder is ours); no model does.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from services.guardrails.audit import AuditContext, GuardAudit
from services.guardrails.findings import GuardContext
from services.guardrails.outcome import GuardOutcome
from services.guardrails.pipeline import GuardPipeline
from services.guardrails.policies import GuardPolicies
from services.router.guard_rewrite import (
    GuardedStream,
    guard_context,
    guard_response,
    judge_prompt,
    redact_prompt,
)
from services.router.requests import (
    ChatCompletionRequest,
    OpenAIRequest,
    OpenAIResponse,
    input_field,
)
from services.router.types import RequestFacts, RoutingHints
from services.routing.tokens import TokenCounter
from services.telemetry.logs import serve_request_id
from services.telemetry.request import caller_request_id


@dataclass
class GuardSession:
    """One request's guard: its output pipeline, context and what was decided so far."""

    output: GuardPipeline
    context: GuardContext
    audit_context: AuditContext
    audit: GuardAudit
    prompt_field: str = "messages"
    """The request field a blocked prompt is reported against (``messages`` or ``prompt``)."""
    outcomes: list[GuardOutcome] = field(default_factory=list)
    pending_prompt_verdict: Callable[[], Awaitable[GuardOutcome]] | None = None
    """The prompt's whole-text checks, not started yet (see the module doc)."""

    def judge_prompt(self) -> asyncio.Task[None] | None:
        """Start the prompt's whole-text checks, if any are pending: the task raises
        ``GuardViolation`` on a block, and must end before any of the answer goes out."""
        verdict, self.pending_prompt_verdict = self.pending_prompt_verdict, None
        if verdict is None:
            return None

        async def judged() -> None:
            self.record(await verdict())

        return asyncio.ensure_future(judged())

    def record(self, outcome: GuardOutcome) -> None:
        self.outcomes.append(outcome)
        self.audit.record(outcome, self.audit_context)
        outcome.raise_if_blocked(self.prompt_field if outcome.direction == "input" else None)

    async def check_response(self, response: OpenAIResponse) -> OpenAIResponse:
        if not self.output.checks:
            return response
        response, outcome = await guard_response(self.output, response, self.context)
        self.record(outcome)
        return response

    async def check_stream(
        self, chunks: AsyncGenerator[str, None], *, chat: bool
    ) -> AsyncGenerator[str, None]:
        """The stream with its text guarded; raises the violation after the
        ``content_filter`` chunk when the output is blocked."""
        if not self.output.checks:
            async for chunk in chunks:
                yield chunk
            return
        guarded = GuardedStream(self.output, self.context, chat=chat, report=self._report)
        try:
            async for chunk in guarded.rewrite(chunks):
                yield chunk
        finally:
            # Whatever ended the stream (a block, the caller leaving), record what was
            # decided on the text that went out.
            summary = guarded.summary()
            self.outcomes.append(summary)
            self.audit.record(summary, self.audit_context)
        summary.raise_if_blocked()

    def metadata(self) -> dict[str, Any]:
        """What the response may say about the guard: policies, counts and check names,
        never text."""
        merged: dict[str, Any] = {"policies": list(self.audit_context.policies)}
        for outcome in self.outcomes:
            merged[outcome.direction] = outcome.metadata()
        return merged

    def _report(self, output: GuardOutcome) -> dict[str, Any]:
        """The metadata with the stream's output verdict so far."""
        return {**self.metadata(), "output": output.metadata()}


class Guardrails:
    """The cluster's guard policies applied to requests."""

    def __init__(
        self,
        policies: GuardPolicies | None = None,
        token_counter: TokenCounter | None = None,
        audit: GuardAudit | None = None,
    ) -> None:
        self.policies = policies
        self._token_counter = token_counter
        self.audit = audit or GuardAudit()

    @property
    def policy_names(self) -> frozenset[str]:
        """The guard policies in force: what a request may ask for at most."""
        return self.policies.names if self.policies is not None else frozenset()

    async def check_prompt(
        self, hints: RoutingHints, model: str, request: OpenAIRequest, facts: RequestFacts
    ) -> tuple[OpenAIRequest, GuardSession | None]:
        """The request as the model may see it (redacted), and the session that guards its
        output; None when no policy applies. Raises ``GuardViolation`` on a block."""
        if self.policies is None:
            return request, None
        guards = self.policies.for_request(
            route=hints.model, model=model, tenant=hints.tenant, requested=hints.guard_policies
        )
        if guards is None:
            return request, None
        context = guard_context(request, facts, self._counter(model, facts))
        session = GuardSession(
            guards.output,
            context,
            AuditContext(
                # The id in the log line's own `request_id` (Ray Serve's) unless the
                # caller gave one.
                request_id=caller_request_id(request) or serve_request_id() or "",
                route=hints.model,
                tenant=hints.tenant,
                policies=guards.policies,
                requested=hints.guard_policies,
            ),
            self.audit,
            prompt_field=input_field(request),
        )
        if not guards.input.checks:
            return request, session
        prompt = await redact_prompt(guards.input, request, context)
        if prompt.spans.blocked:
            session.record(prompt.spans)
        verdict = functools.partial(judge_prompt, guards.input, prompt, context)
        if guards.input.only("running", "final").checks:
            session.pending_prompt_verdict = verdict
        else:
            session.record(await verdict())
        return prompt.request, session

    def _counter(self, model: str, facts: RequestFacts) -> Any:
        counter = self._token_counter
        if counter is None:
            return None

        async def count() -> int:
            return await counter.count(model, facts)

        return count


def is_chat(request: OpenAIRequest) -> bool:
    return isinstance(request, ChatCompletionRequest)
