"""The router with guard policies: prompts and completions, unary and streamed."""

from __future__ import annotations

import asyncio
import json
from contextlib import aclosing

import pytest

from services.auth.access import GUARD_POLICY_HEADER, Caller
from services.auth.config import TenantPolicy
from services.errors import GuardViolation, PermissionDeniedError, ServerError
from services.guardrails.config import GuardrailsConfig
from services.guardrails.findings import Finding, GuardContext
from services.guardrails.policies import GuardPolicies
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.guarding import Guardrails
from services.router.requests import ChatCompletionRequest, CompletionRequest
from services.router.results import RoutedStream
from services.router.types import RoutingHints
from tests.unit.router.fakes import ScriptedBackend, chat_response

CATALOG = ModelCatalog([ServedModel("alpha", "a"), ServedModel("beta", "b")])
CARD = "4111 1111 1111 1111"
GUARDRAILS = GuardrailsConfig.model_validate(
    {
        "policies": [
            {
                "name": "strict",
                "checks": [
                    {
                        "type": "regex",
                        "name": "cards",
                        "patterns": {"credit_card": r"\b(?:\d{4} ){3}\d{4}\b"},
                        "action": "redact",
                        "max_match_chars": 19,
                    },
                    {"type": "keywords", "words": ["forbidden"], "action": "block"},
                    {"type": "keywords", "name": "watch", "words": ["maybe"], "action": "flag"},
                ],
            },
            {
                "name": "no-maybe",
                "checks": [{"type": "keywords", "name": "hedging", "words": ["maybe"]}],
            },
        ],
        "routes": {"alpha": "strict"},
    }
)


def router(backend: ScriptedBackend) -> Router:
    return Router(CATALOG, backend, guardrails=Guardrails(GuardPolicies(GUARDRAILS)))


def chat(text: str, model: str = "alpha", system: str = "be brief") -> ChatCompletionRequest:
    messages = [{"role": "system", "content": system}, {"role": "user", "content": text}]
    return ChatCompletionRequest(model=model, messages=messages)


def sse_chunk(text: str | None, finish: str | None = None) -> str:
    delta = {} if text is None else {"content": text}
    chunk = {
        "id": "c",
        "object": "chat.completion.chunk",
        "created": 0,
        "model": "alpha",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return f"data: {json.dumps(chunk)}\n\n"


def texts(events: list[str]) -> tuple[str, list[str | None]]:
    text, finishes = "", []
    for batch in events:
        for event in batch.split("\n\n"):
            payload = event.removeprefix("data: ")
            if not payload.startswith("{"):
                continue
            for choice in json.loads(payload)["choices"]:
                text += choice["delta"].get("content") or ""
                finishes.append(choice["finish_reason"])
    return text, finishes


async def streamed(script: list[str]) -> tuple[list[str], RoutedStream]:
    """Every event a guarded stream of ``script`` sends, and the stream."""
    stream = await router(ScriptedBackend({"alpha": script})).generate_stream(
        chat("hi"), RoutingHints(model="alpha")
    )
    async with aclosing(stream.chunks) as chunks:
        events = [event async for event in chunks]
    return events, stream


async def test_the_model_sees_the_prompt_redacted_in_every_message() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    request = chat(f"pay with {CARD} maybe", system=f"card on file: {CARD}")
    result = await router(backend).generate(request, RoutingHints(model="alpha"))
    sent = backend.calls[0][2]
    assert [m["content"] for m in sent.messages] == [
        "card on file: <CREDIT_CARD>",
        "pay with <CREDIT_CARD> maybe",
    ]
    assert result.guard == {
        "policies": ["strict"],
        "input": {
            "blocked": False,
            "redacted": 2,
            "flagged": ["watch:KEYWORD"],
            "failed_checks": [],
        },
        "output": {"blocked": False, "redacted": 0, "flagged": [], "failed_checks": []},
    }


async def test_a_completions_prompt_list_is_redacted_item_by_item() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    request = CompletionRequest(model="alpha", prompt=[f"a {CARD}", "b"])
    await router(backend).generate(request, RoutingHints(model="alpha"))
    assert backend.calls[0][2].prompt == ["a <CREDIT_CARD>", "b"]


async def test_a_blocked_prompt_never_reaches_a_model_and_is_not_echoed() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    with pytest.raises(GuardViolation) as caught:
        await router(backend).generate(chat("this is forbidden"), RoutingHints(model="alpha"))
    assert backend.calls == []
    assert (caught.value.check, caught.value.category) == ("keywords", "KEYWORD")
    assert caught.value.param == "messages"
    assert "forbidden" not in caught.value.message


CAREFUL = Caller(tenant="careful", policy=TenantPolicy(guard_policies=["no-maybe"]))


async def test_a_requested_policy_runs_on_top_of_the_routes() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    asked = RoutingHints(model="alpha", guard_policies=("no-maybe",))

    plain = await router(backend).generate(chat("maybe"), RoutingHints("alpha"), caller=CAREFUL)
    with pytest.raises(GuardViolation) as caught:
        await router(backend).generate(chat("maybe"), asked, caller=CAREFUL)

    # The route's policy only flags the word; the requested one blocks it.
    assert plain.guard is not None and plain.guard["input"]["flagged"] == ["watch:KEYWORD"]
    assert caught.value.check == "hedging"
    assert len(backend.calls) == 1  # the unrequested call only
    unguarded_model = RoutingHints(model="beta", guard_policies=("no-maybe",))
    with pytest.raises(GuardViolation):
        await router(backend).generate(chat("maybe", "beta"), unguarded_model, caller=CAREFUL)


async def test_a_policy_the_tenant_may_not_ask_for_is_refused_before_any_model() -> None:
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    hints = RoutingHints(model="alpha", guard_policies=("no-maybe",))

    with pytest.raises(PermissionDeniedError) as caught:
        await router(backend).generate(chat("hi"), hints)  # a tenant that may ask for none

    assert caught.value.param == GUARD_POLICY_HEADER
    assert backend.calls == []


async def test_models_without_a_policy_are_not_guarded() -> None:
    backend = ScriptedBackend({"beta": [chat_response("forbidden")]})
    result = await router(backend).generate(chat("forbidden", "beta"), RoutingHints("beta"))
    assert result.guard is None and result.body.choices[0].message.content == "forbidden"


async def test_a_completion_is_redacted_or_blocked() -> None:
    backend = ScriptedBackend({"alpha": [chat_response(f"your card {CARD}")]})
    result = await router(backend).generate(chat("hi"), RoutingHints(model="alpha"))
    assert result.body.choices[0].message.content == "your card <CREDIT_CARD>"
    backend = ScriptedBackend({"alpha": [chat_response("a forbidden answer")]})
    with pytest.raises(GuardViolation) as caught:
        await router(backend).generate(chat("hi"), RoutingHints(model="alpha"))
    assert caught.value.direction == "output"
    assert caught.value.details()["finish_reason"] == "content_filter"


async def test_a_card_split_across_stream_chunks_never_leaves_unredacted() -> None:
    pieces = ["Your card is 4111 11", "11 1111 ", "1111, thanks", None]
    script = [sse_chunk(p) for p in pieces[:-1]] + [sse_chunk(None, "stop"), "data: [DONE]\n\n"]
    events, stream = await streamed(script)
    text, finishes = texts(events)
    assert text == "Your card is <CREDIT_CARD>, thanks"
    assert not any("1111" in event for event in events)
    assert finishes[-1] == "stop" and events[-1].endswith("data: [DONE]\n\n")
    assert stream.guard["output"]["redacted"] == 1


async def test_a_blocked_stream_ends_with_content_filter_and_closes_the_model_call() -> None:
    script = [sse_chunk("Here it is. "), sse_chunk("The forbidden part " + "x" * 300)]
    script += [sse_chunk("never sent"), sse_chunk(None, "stop"), "data: [DONE]\n\n"]
    backend = ScriptedBackend({"alpha": script})
    stream = await router(backend).generate_stream(chat("hi"), RoutingHints(model="alpha"))
    events: list[str] = []
    with pytest.raises(GuardViolation) as caught:
        async with aclosing(stream.chunks) as chunks:
            async for event in chunks:
                events.append(event)
    text, finishes = texts(events)
    assert "forbidden" not in text and "never sent" not in text
    assert finishes[-1] == "content_filter"
    assert caught.value.direction == "output"
    assert backend.closed_early == 1  # the engine request is aborted


async def test_the_finishing_chunk_reports_the_output_verdict() -> None:
    script = [sse_chunk(f"card {CARD} done"), sse_chunk(None, "stop"), "data: [DONE]\n\n"]
    events, stream = await streamed(script)
    finishing = next(e for e in events if '"finish_reason": "stop"' in e)
    report = json.loads(finishing.removeprefix("data: "))["fleet"]["guardrails"]
    assert report["policies"] == ["strict"] and report["output"]["redacted"] == 1


async def test_text_held_back_is_released_at_the_end_without_a_finish_reason() -> None:
    script = [sse_chunk("almost done, "), sse_chunk(f"card {CARD}"), "data: [DONE]\n\n"]
    events, stream = await streamed(script)
    assert texts(events)[0] == "almost done, card <CREDIT_CARD>"
    assert events[-1].endswith("data: [DONE]\n\n")


class HeldCheck:
    """A whole-text prompt check that answers only once let go: a block if ``marker`` is in
    the text (an embedder or judge call that takes its time)."""

    name = "topics"
    max_match_chars = 0

    def __init__(self, marker: str, *, answer_at_once: bool = False) -> None:
        self.marker = marker
        self.answer = asyncio.Event()
        if answer_at_once:
            self.answer.set()

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        await self.answer.wait()
        return [Finding(self.name, "WEAPONS", 0, 0)] if self.marker in text else []


def judged(backend: ScriptedBackend, check: HeldCheck) -> Router:
    topics = {"type": "topics", "on": "input", "topics": {"weapons": ["bombs"]}}
    config = GuardrailsConfig.model_validate(
        {"policies": [{"name": "judged", "checks": [topics]}], "routes": {"alpha": "judged"}}
    )
    policies = GuardPolicies(config, builders={"topics": lambda _: check})
    return Router(CATALOG, backend, guardrails=Guardrails(policies))


async def test_the_model_starts_while_whole_prompt_checks_run_and_waits_for_them() -> None:
    check = HeldCheck("bomb")
    backend = ScriptedBackend({"alpha": [chat_response("ok")]})
    answer = asyncio.ensure_future(
        judged(backend, check).generate(chat("hi"), RoutingHints("alpha"))
    )
    for _ in range(100):
        if backend.calls:
            break
        await asyncio.sleep(0)
    # The model has the prompt, the check has not answered: nothing goes out yet.
    assert backend.calls and not answer.done()
    check.answer.set()
    assert (await answer).body.choices[0].message.content == "ok"


@pytest.mark.parametrize("model_fails", [False, True])
async def test_a_whole_prompt_block_closes_the_model_call_and_outranks_its_error(
    model_fails: bool,
) -> None:
    script = [ServerError("engine died")] if model_fails else [sse_chunk("Sure"), sse_chunk("!")]
    backend = ScriptedBackend({"alpha": script})
    router = judged(backend, HeldCheck("bomb", answer_at_once=True))
    with pytest.raises(GuardViolation) as caught:
        await router.generate_stream(chat("build a bomb"), RoutingHints("alpha"))
    assert (caught.value.direction, caught.value.category) == ("input", "WEAPONS")
    assert backend.closed_early == 1  # the engine request is aborted


async def test_a_replica_message_of_several_tokens_leaves_as_one_event() -> None:
    grouped = "".join(sse_chunk(token) for token in ["The ", "weather ", "is ", "fine"])
    script = [grouped, sse_chunk(None, "stop") + "data: [DONE]\n\n"]
    events, _ = await streamed(script)
    text, _ = texts(events)
    assert text == "The weather is fine"
    # The guard held back the word being written, and sent the rest as one delta.
    assert events[0].count("data: ") == 1 and '"The weather is "' in events[0]
