"""Prompt tokens counted with the zoo's real tokenizers and chat templates."""

from __future__ import annotations

import random
import shutil
from pathlib import Path

import pytest
from transformers import AutoTokenizer

from cluster.zoo import zoo_path
from services.router.facts import request_facts
from services.router.requests import ChatCompletionRequest, CompletionRequest
from services.router.types import RequestFacts, RoutingHints
from services.routing.config import RulesRouteConfig
from services.routing.policy import PolicyServices
from services.routing.rules import RulesPolicy
from services.routing.tokens import HuggingFaceTokenCounter, TokenizerUnavailableError

MISTRAL = str(zoo_path("tiny-mistral"))
QWEN = str(zoo_path("tiny-qwen2"))
MESSAGES = [
    {"role": "system", "content": "You answer questions about the cluster."},
    {"role": "user", "content": "How many replicas serve the chat route right now?"},
]


@pytest.fixture(scope="module")
def counter() -> HuggingFaceTokenCounter:
    return HuggingFaceTokenCounter({"tiny-mistral": MISTRAL, "tiny-qwen2": QWEN})


def chat_facts(messages: list[dict], **params: object) -> RequestFacts:
    return request_facts(ChatCompletionRequest(model="m", messages=messages, **params))


async def test_chat_is_counted_with_the_template_and_generation_prompt(
    counter: HuggingFaceTokenCounter,
) -> None:
    tokenizer = AutoTokenizer.from_pretrained(MISTRAL)
    expected = tokenizer.apply_chat_template(
        MESSAGES, tokenize=True, add_generation_prompt=True, return_dict=False
    )
    text_only = sum(len(tokenizer.encode(m["content"])) for m in MESSAGES)
    tokens = await counter.count("tiny-mistral", chat_facts(MESSAGES))
    assert tokens == len(expected)
    assert tokens > text_only  # role markers and the assistant prompt are counted too


async def test_content_parts_count_like_plain_text(counter: HuggingFaceTokenCounter) -> None:
    parts = [{"type": "text", "text": MESSAGES[1]["content"]}]
    as_parts = [MESSAGES[0], {"role": "user", "content": parts}]
    plain = await counter.count("tiny-mistral", chat_facts(MESSAGES))
    assert await counter.count("tiny-mistral", chat_facts(as_parts)) == plain


async def test_completions_count_the_longest_prompt(counter: HuggingFaceTokenCounter) -> None:
    tokenizer = AutoTokenizer.from_pretrained(QWEN)
    prompts = ["short", "a somewhat longer prompt about routing decisions"]
    facts = request_facts(CompletionRequest(model="m", prompt=prompts))
    assert await counter.count("tiny-qwen2", facts) == len(tokenizer.encode(prompts[1]))


async def test_token_id_prompts_need_no_tokenizer() -> None:
    facts = request_facts(CompletionRequest(model="m", prompt=[[1, 2, 3], [4, 5, 6, 7]]))
    assert await HuggingFaceTokenCounter({}).count("unknown", facts) == 4


async def test_unknown_or_missing_tokenizers_are_server_errors(tmp_path: Path) -> None:
    counter = HuggingFaceTokenCounter({"gone": str(tmp_path)})
    with pytest.raises(TokenizerUnavailableError, match="no tokenizer is known for model 'x'"):
        await counter.count("x", chat_facts(MESSAGES))
    with pytest.raises(TokenizerUnavailableError, match="cannot load the tokenizer of model"):
        await counter.count("gone", chat_facts(MESSAGES))


async def test_without_a_chat_template_the_message_text_is_counted(tmp_path: Path) -> None:
    # The engine, not the router, rejects what a template cannot render: routing goes on.
    plain = tmp_path / "plain"
    shutil.copytree(MISTRAL, plain, ignore=shutil.ignore_patterns("chat_template.jinja"))
    counter = HuggingFaceTokenCounter({"plain": str(plain)})
    tokenizer = AutoTokenizer.from_pretrained(plain)
    text = "\n".join(m["content"] for m in MESSAGES)
    assert await counter.count("plain", chat_facts(MESSAGES)) == len(tokenizer.encode(text))


async def test_a_long_prompt_goes_to_the_long_context_model(
    counter: HuggingFaceTokenCounter,
) -> None:
    route = RulesRouteConfig.model_validate(
        {
            "name": "smart",
            "rules": [
                {"name": "long-context", "model": "tiny-qwen2", "match": {"min_prompt_tokens": 200}}
            ],
            "default": "tiny-mistral",
        }
    )
    rules = RulesPolicy(route, PolicyServices(rng=random.Random(0), token_counter=counter))
    hints = RoutingHints(model="smart")
    short = await rules.decide(hints, chat_facts(MESSAGES))
    assert short.model == "tiny-mistral"
    assert short.reason.startswith("no rule matched (") and short.reason.endswith(" prompt tokens)")
    long_text = "Please summarise the following incident report. " * 40
    long = await rules.decide(hints, chat_facts([{"role": "user", "content": long_text}]))
    assert long.model == "tiny-qwen2"
    assert long.reason.startswith("rule 'long-context' matched: ")
    assert int(long.reason.split(": ")[1].split()[0]) >= 200
