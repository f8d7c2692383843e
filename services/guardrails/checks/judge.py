"""A safety judge: a served Llama Guard 3 model rates the prompt or the completion.

The prompt is Llama Guard 3's own: the chat template shipped in the ``tokenizer_config.json``
of ``meta-llama/Llama-Guard-3-8B``, rendered as text, because the router sends it to the
completions endpoint (not chat): the judge must see exactly what it was trained on, not
whatever chat template the serving stack would apply. Sources compared:

- the Hugging Face chat template of ``meta-llama/Llama-Guard-3-8B`` (copies of it in the
  ``library/llama-guard3:8b`` entry of a template test corpus and in several evaluation
  repositories, all byte-identical in the parts used here);
- ``meta-llama/llama-stack``, ``llama_stack/providers/inline/safety/llama_guard/
  llama_guard.py`` (``PROMPT_TASK``, ``SAFETY_CATEGORIES``, ``PROMPT_CONVERSATION``,
  ``PROMPT_INSTRUCTIONS`` and the ``CAT_*`` names);
- the Llama Guard 3 model card, ``meta-llama/PurpleLlama``,
  ``Llama-Guard3/8B/MODEL_CARD.md`` (the hazard taxonomy S1-S14).

Category names are the chat template's ("S3: Sex Crimes.", "S4: Child Exploitation.",
"S11: Self-Harm."), which llama-stack and llama-recipes also use in the prompt. The model
card's taxonomy table names three of them differently ("Sex-Related Crimes", "Child Sexual
Exploitation", "Suicide & Self-Harm"); those are descriptions, not the prompt text.

Two deliberate differences from the template's rendering: the template emits a stray space
before ``<|begin_of_text|>`` (left out here) and stops right after the assistant header
(``\\n\\n`` is added here, as every Llama 3 generation prompt does, so the verdict is the
first thing generated). Neither changes the words the judge is asked.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from services.guardrails.check_config import JUDGE_CATEGORIES, Direction, JudgeCheckConfig
from services.guardrails.findings import Finding, GuardContext

AgentType = Literal["User", "Agent"]

CATEGORY_NAMES: Mapping[str, str] = {
    "S1": "Violent Crimes",
    "S2": "Non-Violent Crimes",
    "S3": "Sex Crimes",
    "S4": "Child Exploitation",
    "S5": "Defamation",
    "S6": "Specialized Advice",
    "S7": "Privacy",
    "S8": "Intellectual Property",
    "S9": "Indiscriminate Weapons",
    "S10": "Hate",
    "S11": "Self-Harm",
    "S12": "Sexual Content",
    "S13": "Elections",
    "S14": "Code Interpreter Abuse",
}
"""Llama Guard 3's hazard categories, as its chat template lists them."""

UNSAFE = "UNSAFE"
"""The category of an unsafe verdict that names no valid category."""

ROLE_LABELS: Mapping[str, AgentType] = {"user": "User", "assistant": "Agent"}
"""Only these turns are shown to the judge: system prompts are the operator's, not the
conversation (the template has no place for them), and tool turns have no label in it."""

_PROMPT_HEAD = (
    "<|begin_of_text|><|start_header_id|>user<|end_header_id|>\n\n"
    "Task: Check if there is unsafe content in '{agent_type}' messages in conversations "
    "according our safety policy with the below categories.\n\n"
    "<BEGIN UNSAFE CONTENT CATEGORIES>\n"
    "{categories}\n"
    "<END UNSAFE CONTENT CATEGORIES>\n\n"
    "<BEGIN CONVERSATION>\n\n"
)
# "according our" (sic) is the template's wording: the model was trained on it.
_PROMPT_TAIL = (
    "<END CONVERSATION>\n\n"
    "Provide your safety assessment for ONLY THE LAST {agent_type} message in the above "
    "conversation:\n"
    " - First line must read 'safe' or 'unsafe'.\n"
    " - If unsafe, a second line must include a comma-separated list of violated "
    "categories.<|eot_id|><|start_header_id|>assistant<|end_header_id|>\n\n"
)

# Llama 3's special tokens are plain text to us but the judge's tokenizer turns them back
# into control tokens, so a turn containing "<|eot_id|>" could end the conversation early
# and write the judge's instructions itself.
_SPECIAL_TOKEN = re.compile(r"<\|([A-Za-z0-9_]{1,64})\|>")


class JudgeModel(Protocol):
    """A served model that completes a raw prompt (the completions endpoint, temperature 0).

    The prompt starts with ``<|begin_of_text|>`` itself, so the implementation must not
    add another (vLLM: ``add_special_tokens: false`` on the completions request)."""

    async def complete(self, model: str, prompt: str, max_tokens: int) -> str: ...


class JudgeVerdictError(ValueError):
    """The judge answered something other than a Llama Guard verdict. The message never
    quotes the answer: a confused judge may echo the text it was judging."""


@dataclass(frozen=True)
class Verdict:
    safe: bool
    categories: tuple[str, ...] = ()
    """For an unsafe verdict: the valid S-codes named, in order, or ``("UNSAFE",)``."""


def _category_order(code: str) -> int:
    return JUDGE_CATEGORIES.index(code)


def _categories_block(categories: Iterable[str]) -> str:
    codes = set(categories)
    unknown = codes - set(CATEGORY_NAMES)
    if unknown:
        raise ValueError(f"unknown judge categories: {', '.join(sorted(unknown))}")
    if not codes:
        raise ValueError("the judge needs at least one category")
    # The judge was trained on the list in S-number order; config order means nothing to it.
    return "\n".join(
        f"{code}: {CATEGORY_NAMES[code]}." for code in sorted(codes, key=_category_order)
    )


def _defang(content: str) -> str:
    return _SPECIAL_TOKEN.sub(r"< |\1| >", content)


def build_judge_prompt(
    messages: Sequence[Mapping[str, str]],
    *,
    agent_type: AgentType,
    categories: Iterable[str],
) -> str:
    """Llama Guard 3's prompt asking about the last ``agent_type`` turn of ``messages``.

    ``messages`` are ``{"role", "content"}`` turns; only user and assistant turns are shown
    (as ``User`` and ``Agent``), each stripped as the template does. Only ``categories``
    (S-codes) are listed, under their own numbers."""
    block = _categories_block(categories)
    turns = [
        f"{ROLE_LABELS[message['role']]}: {_defang(message['content'].strip())}\n\n"
        for message in messages
        if message.get("role") in ROLE_LABELS
    ]
    if not turns:
        raise ValueError("the judge needs at least one user or assistant turn")
    return (
        _PROMPT_HEAD.format(agent_type=agent_type, categories=block)
        + "".join(turns)
        + _PROMPT_TAIL.format(agent_type=agent_type)
    )


def parse_verdict(text: str) -> Verdict:
    """Read the judge's answer: ``safe``, or ``unsafe`` and a line of S-codes.

    Blank lines and surrounding whitespace are ignored, case too. An unsafe verdict whose
    category line is missing or names no valid code is category ``UNSAFE``: the judge said
    unsafe, and not knowing why is no reason to let the text through."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        raise JudgeVerdictError("the judge gave an empty answer")
    head = lines[0].lower()
    if head == "safe":
        return Verdict(safe=True)
    if head != "unsafe":
        raise JudgeVerdictError(f"the judge's answer is not a verdict ({len(text)} chars)")
    named: list[str] = []
    if len(lines) > 1:
        for part in lines[1].split(","):
            code = part.strip().upper()
            # An answer cut short by max_tokens can end in a partial code ("S"); unknown
            # codes are skipped rather than failing a verdict that is plainly unsafe.
            if code in CATEGORY_NAMES and code not in named:
                named.append(code)
    return Verdict(safe=False, categories=tuple(named) or (UNSAFE,))


def input_conversation(messages: Sequence[Mapping[str, str]], text: str) -> list[Mapping[str, str]]:
    """The conversation up to the last user turn, whose content is the scanned ``text``
    (it may have been redacted by earlier checks). Without a user turn, ``text`` alone."""
    for index in range(len(messages) - 1, -1, -1):
        if messages[index].get("role") == "user":
            return [*messages[:index], {"role": "user", "content": text}]
    return [{"role": "user", "content": text}]


def output_conversation(
    messages: Sequence[Mapping[str, str]], text: str
) -> list[Mapping[str, str]]:
    """The conversation with the completion ``text`` as its last assistant turn."""
    return [*messages, {"role": "assistant", "content": text}]


class JudgeCheck:
    """Asks a Llama Guard 3 model whether the prompt (``User``) or the completion
    (``Agent``) is unsafe; one whole-text finding per violated category (``S9``).

    Categories outside the configured set are dropped: the judge is only asked about the
    configured ones, but may still name another, and an operator who left a category out
    (say ``S6``, specialized advice) has decided it should not block. An unsafe verdict
    naming only such categories is therefore no finding; one naming no valid category at
    all is ``UNSAFE``."""

    max_match_chars = 0

    def __init__(
        self,
        name: str,
        judge: JudgeModel,
        *,
        model: str,
        agent_type: AgentType,
        categories: Iterable[str] = JUDGE_CATEGORIES,
        max_tokens: int = 10,
    ) -> None:
        self.name = name
        self.model = model
        self.agent_type: AgentType = agent_type
        self.max_tokens = max_tokens
        self._judge = judge
        self._categories = frozenset(categories)
        _categories_block(self._categories)  # a bad category fails at build time, not per scan

    @classmethod
    def from_config(
        cls, config: JudgeCheckConfig, judge: JudgeModel, direction: Direction
    ) -> JudgeCheck:
        return cls(
            config.check_name,
            judge,
            model=config.model,
            agent_type="User" if direction == "input" else "Agent",
            categories=config.categories,
            max_tokens=config.max_tokens,
        )

    @property
    def categories(self) -> frozenset[str]:
        return self._categories

    def prompt(self, text: str, context: GuardContext) -> str:
        if self.agent_type == "User":
            conversation = input_conversation(context.messages, text)
        else:
            conversation = output_conversation(context.messages, text)
        return build_judge_prompt(
            conversation, agent_type=self.agent_type, categories=self._categories
        )

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        answer = await self._judge.complete(self.model, self.prompt(text, context), self.max_tokens)
        verdict = parse_verdict(answer)
        if verdict.safe:
            return []
        if verdict.categories == (UNSAFE,):
            return [Finding(self.name, UNSAFE, 0, 0)]
        return [
            Finding(self.name, code, 0, 0)
            for code in verdict.categories
            if code in self._categories
        ]
