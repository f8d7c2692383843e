"""Where the guarded texts sit in OpenAI requests, responses and stream chunks.

The guardrails package knows texts; this module finds them in the OpenAI shapes, runs the
pipelines over them and writes redactions back in place.

Prompts. Span checks (PII, secrets, patterns) read every message, so nothing sensitive
reaches a model or its logs, and are run once over all of them joined; whole-text checks
(injection, topics, a judge) read the latest user turn, the one that asks something now,
with the conversation as context; the prompt-length limit counts the whole request.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, Awaitable, Callable, Sequence
from contextlib import aclosing
from dataclasses import dataclass, field
from typing import Any

from services.guardrails.findings import Finding, GuardContext
from services.guardrails.outcome import GuardOutcome
from services.guardrails.pipeline import GuardPipeline
from services.guardrails.redaction import Span, apply_spans, merge_spans
from services.guardrails.stream import StreamGuard
from services.router.requests import ChatCompletionRequest, OpenAIRequest, OpenAIResponse
from services.router.stream_events import (
    EVENT_SEPARATOR,
    is_done,
    join_text_deltas,
    parse_events,
)
from services.router.types import RequestFacts

# Joins the prompt's texts for one scan; no finding of ours spans a blank line.
_SEPARATOR = "\n\n"
CONTENT_FILTER = "content_filter"


def guard_context(
    request: OpenAIRequest,
    facts: RequestFacts,
    count_prompt_tokens: Callable[[], Awaitable[int]] | None = None,
) -> GuardContext:
    if facts.is_chat:
        messages = tuple(
            {"role": str(m.get("role", "")), "content": str(m.get("content") or "")}
            for m in facts.messages
        )
    else:
        messages = ({"role": "user", "content": facts.text},)
    return GuardContext(
        messages=messages,
        wants_json="json" in facts.features,
        json_schema=_json_schema(request),
        count_prompt_tokens=count_prompt_tokens,
    )


def _json_schema(request: OpenAIRequest) -> dict[str, Any] | None:
    response_format = request.response_format
    schema = getattr(getattr(response_format, "json_schema", None), "json_schema", None)
    if schema is None and request.structured_outputs is not None:
        structured = request.structured_outputs.json
        schema = json.loads(structured) if isinstance(structured, str) else structured
    return schema if isinstance(schema, dict) else None


# -- prompt ---------------------------------------------------------------------------------


@dataclass
class _PromptTexts:
    """The prompt's texts, each with a function that writes its redacted form back."""

    texts: list[str] = field(default_factory=list)
    writers: list[Callable[[str], None]] = field(default_factory=list)
    latest_user: int | None = None

    def add(self, text: str, write: Callable[[str], None], *, user: bool = False) -> None:
        if user:
            self.latest_user = len(self.texts)
        self.texts.append(text)
        self.writers.append(write)


def _prompt_texts(body: dict[str, Any]) -> _PromptTexts:
    found = _PromptTexts()
    if isinstance(body.get("messages"), list):
        for message in body["messages"]:
            user = message.get("role") == "user"
            content = message.get("content")
            if isinstance(content, str):
                found.add(content, _setter(message, "content"), user=user)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        found.add(part["text"], _setter(part, "text"), user=user)
    else:
        prompt = body.get("prompt")
        if isinstance(prompt, str):
            found.add(prompt, _setter(body, "prompt"), user=True)
        elif isinstance(prompt, list):
            for index, item in enumerate(prompt):
                if isinstance(item, str):
                    found.add(item, _setter(prompt, index), user=True)
    return found


def _setter(container: Any, key: Any) -> Callable[[str], None]:
    def write(value: str) -> None:
        container[key] = value

    return write


@dataclass(frozen=True)
class RedactedPrompt:
    """A prompt after the span checks: what the model may see, and what they decided."""

    request: OpenAIRequest
    spans: GuardOutcome
    latest: str
    """The latest user turn, redacted: what the whole-text checks read."""


async def redact_prompt(
    pipeline: GuardPipeline, request: OpenAIRequest, context: GuardContext
) -> RedactedPrompt:
    """The request with the span checks' redactions applied to its prompt."""
    field = "messages" if isinstance(request, ChatCompletionRequest) else "prompt"
    # A copy of the prompt only: redactions are written into it, the request stays as is.
    body = {field: request.model_dump(include={field})[field]}
    prompt = _prompt_texts(body)
    spans = await pipeline.only("window").scan_async(_SEPARATOR.join(prompt.texts), context)
    if spans.blocked:
        return RedactedPrompt(request, spans, "")
    redacted = _split_back(prompt.texts, spans.redactions)
    latest = redacted[prompt.latest_user] if prompt.latest_user is not None else ""
    if spans.redactions:
        for write, text in zip(prompt.writers, redacted, strict=True):
            write(text)
        request = request.model_copy(update=body)
    return RedactedPrompt(request, spans, latest)


async def judge_prompt(
    pipeline: GuardPipeline, prompt: RedactedPrompt, context: GuardContext
) -> GuardOutcome:
    """The whole-text checks' verdict on the prompt, with the span checks' findings."""
    whole = await pipeline.only("running", "final").scan_async(prompt.latest, context)
    spans = prompt.spans
    return GuardOutcome(
        "input",
        "",
        whole.blocked_by,
        spans.redactions,
        spans.flags + whole.flags,
        spans.failures + whole.failures,
    )


def _split_back(texts: Sequence[str], redactions: Sequence[Finding]) -> list[str]:
    """Each text with the spans of the joined text that fall in it redacted."""
    spans = merge_spans(redactions)
    result: list[str] = []
    start = 0
    for text in texts:
        end = start + len(text)
        inside = [
            Span(max(s.start, start) - start, min(s.end, end) - start, s.category)
            for s in spans
            if s.start < end and s.end > start
        ]
        result.append(apply_spans(text, inside))
        start = end + len(_SEPARATOR)
    return result


# -- completion -----------------------------------------------------------------------------


async def guard_response(
    pipeline: GuardPipeline, response: OpenAIResponse, context: GuardContext
) -> tuple[OpenAIResponse, GuardOutcome]:
    """The response with every choice's text guarded; the first block wins."""
    outcomes: list[GuardOutcome] = []
    for choice in response.choices:
        message = getattr(choice, "message", None)
        holder, key = (message, "content") if message is not None else (choice, "text")
        text = getattr(holder, key) or ""
        outcome = await pipeline.scan_async(text, context)
        outcomes.append(outcome)
        if outcome.blocked:
            return response, outcome
        if outcome.redactions:
            setattr(holder, key, outcome.text)
    return response, _merged("output", outcomes)


def _merged(direction: str, outcomes: Sequence[GuardOutcome]) -> GuardOutcome:
    return GuardOutcome(
        direction,  # type: ignore[arg-type]
        "",
        next((o.blocked_by for o in outcomes if o.blocked), None),
        tuple(f for o in outcomes for f in o.redactions),
        tuple(f for o in outcomes for f in o.flags),
        tuple(f for o in outcomes for f in o.failures),
    )


class GuardedStream:
    """Rewrites a stream's SSE chunks so that only guarded text leaves: per choice, text is
    held back as the stream guard says, and released, redacted, in later chunks.

    On a block the stream ends with a chunk whose ``finish_reason`` is ``content_filter``;
    the caller then raises the violation, which the transports turn into an in-band error
    (SSE) or the call's status (gRPC), and closing the source aborts the engine request.
    Chunks that finish a choice carry ``report()`` as their ``fleet`` field (OpenAI clients
    keep unknown fields), so the guard's verdict on the output reaches the caller too.
    """

    def __init__(
        self,
        pipeline: GuardPipeline,
        context: GuardContext,
        *,
        chat: bool,
        report: Callable[[GuardOutcome], dict[str, Any]] | None = None,
    ) -> None:
        self._pipeline = pipeline
        self._context = context
        self._key = "content" if chat else "text"
        self._chat = chat
        self._report = report
        self._guards: dict[int, StreamGuard] = {}
        self._finished: set[int] = set()
        self._template: dict[str, Any] | None = None
        self.blocked_by: Finding | None = None

    def summary(self) -> GuardOutcome:
        return _merged("output", [guard.summary() for guard in self._guards.values()])

    async def rewrite(self, chunks: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
        # Closing the source at once on a block is what aborts the engine request.
        try:
            async with aclosing(chunks):
                async for sse in self._guarded(chunks):
                    yield sse
        finally:
            for guard in self._guards.values():
                guard.cancel()

    async def _guarded(self, chunks: AsyncGenerator[str, None]) -> AsyncGenerator[str, None]:
        async for sse in chunks:
            out: list[str] = []
            for event in join_text_deltas(parse_events(sse), chat=self._chat):
                if is_done(event):
                    out += [f"data: {json.dumps(chunk)}" for chunk in await self._flush()]
                if isinstance(event, str):
                    out.append(event)
                    continue
                kept = await self._rewrite_chunk(event)
                if kept is not None:
                    out.append(f"data: {json.dumps(kept)}")
                if self.blocked_by is not None:
                    break
            if out:
                yield "".join(f"{event}{EVENT_SEPARATOR}" for event in out)
            if self.blocked_by is not None:
                return

    async def _flush(self) -> list[dict[str, Any]]:
        """Chunks for text still held back by choices that never got a finish_reason."""
        chunks = []
        for index, guard in self._guards.items():
            if index in self._finished or self._template is None or self.blocked_by:
                continue
            holder: dict[str, Any] = {}
            choice = {"index": index, "finish_reason": None}
            choice.update({"delta": holder} if self._chat else {})
            chunk = {**self._template, "choices": [choice]}
            final = await guard.finish()
            self._finished.add(index)
            if final.blocked:
                self.blocked_by = final.blocked_by
                choice["finish_reason"] = CONTENT_FILTER
            elif not final.emit:
                continue
            (holder if self._chat else choice)[self._key] = final.emit
            chunks.append(chunk)
        return chunks

    async def _rewrite_chunk(self, chunk: dict[str, Any]) -> dict[str, Any] | None:
        choices = chunk.get("choices") or []
        self._template = {key: value for key, value in chunk.items() if key != "choices"}
        kept_choices = []
        finished = False
        for choice in choices:
            index = choice.get("index", 0)
            guard = self._guards.setdefault(
                index, StreamGuard(self._pipeline, context=self._context)
            )
            holder = choice.get("delta", {}) if self._chat else choice
            text = holder.get(self._key)
            step = await guard.feed(text) if isinstance(text, str) and text else None
            if step is None or not step.blocked:
                emitted = step.emit if step is not None else ""
                if choice.get("finish_reason") is not None:
                    final = await guard.finish()
                    self._finished.add(index)
                    finished = True
                    step = final if final.blocked else step
                    emitted += final.emit
            if step is not None and step.blocked:
                self.blocked_by = step.blocked_by
                holder[self._key] = ""
                choice["finish_reason"] = CONTENT_FILTER
                chunk["choices"] = [*kept_choices, choice]
                return self._with_report(chunk)
            if isinstance(text, str) or emitted:
                holder[self._key] = emitted
            carries_more = self._chat and _carries_more(holder)
            if emitted or choice.get("finish_reason") is not None or carries_more:
                kept_choices.append(choice)
        if choices and not kept_choices:
            return None  # everything in it is held back for now
        chunk["choices"] = kept_choices
        return self._with_report(chunk) if finished else chunk

    def _with_report(self, chunk: dict[str, Any]) -> dict[str, Any]:
        if self._report is not None:
            chunk["fleet"] = {"guardrails": self._report(self.summary())}
        return chunk


def _carries_more(holder: dict[str, Any]) -> bool:
    """A delta with a role, tool calls or the like is sent even with no text."""
    return any(value not in (None, "", []) for key, value in holder.items() if key != "content")
