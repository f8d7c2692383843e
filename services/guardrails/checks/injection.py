"""Prompt injection and jailbreaks: tell-tale phrasings first, then the nearest known attack.

The phrasings are few and precise on purpose: each must be something ordinary prose does
not say ("ignore all previous instructions", a chat-template marker in user text). The
open-ended rest is left to the embedding comparison, which a paraphrase does not escape.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from services.embedder.examples import ExampleIndex
from services.guardrails.check_config import InjectionCheckConfig
from services.guardrails.checks.attacks import BUILTIN_ATTACKS
from services.guardrails.checks.normalize import fold_leetspeak, has_hidden_characters, normalize
from services.guardrails.checks.windows import MAX_WINDOWS, text_windows
from services.guardrails.findings import Finding, GuardContext

if TYPE_CHECKING:
    from services.embedder.examples import Embedder

CATEGORY = "PROMPT_INJECTION"

_OVERRIDE_VERB = r"(?:ignore|disregard|forget|override|bypass|discard|abandon|neglect|skip)"
_EARLIER = r"(?:previous|prior|above|earlier|preceding|foregoing|former|old|original|initial)"
_ORDERS = (
    r"(?:instructions?|prompts?|directives?|directions|rules|guidelines|commands|orders"
    r"|programming|guidance|constraints|restrictions|context)"
)
_LIMITS = (
    r"(?:restrictions?|limit(?:ation)?s|filters?|rules|guidelines|censorship|content polic(?:y|ies)"
    r"|ethics|ethical guidelines|morals|safeguards|guardrails|boundaries|constraints)"
)
_MODE = r"(?:developer|dev|god|jailbreak|jailbroken|dan|unrestricted|unfiltered|uncensored)"

HEURISTICS: dict[str, re.Pattern[str]] = {
    name: re.compile(pattern, re.IGNORECASE | re.MULTILINE)
    for name, pattern in {
        # "ignore all previous instructions", "disregard the above prompt"; not "ignore the
        # typo above" (no orders) nor "ignore my previous instructions" (the user's own).
        "override": rf"\b{_OVERRIDE_VERB}\s+(?:(?:all|any|every|each)\s+)?(?:of\s+)?"
        rf"(?:the\s+|your\s+|these\s+|those\s+)?(?:(?:above|previous|prior)\s+and\s+)?"
        rf"{_EARLIER}\s+(?:\w+\s+)?{_ORDERS}\b",
        # "ignore your instructions", "bypass your safety guidelines".
        "override_yours": rf"\b{_OVERRIDE_VERB}\s+(?:all\s+)?(?:of\s+)?your\s+(?:\w+\s+)?"
        rf"(?:instructions|programming|directives|guidelines|rules|system prompt"
        rf"|content polic(?:y|ies)|safety \w+|restrictions|filters?)\b",
        # DAN and friends: the name with its expansion, or the model told it now is one.
        "dan": r"\b(?-i:DAN)\b[^.\n]{0,60}\bdo anything now\b"
        r"|\bdo anything now\b[^.\n]{0,20}\(?\b(?-i:DAN)\b"
        r"|\byou\s+are\s+(?:now\s+|going\s+to\s+(?:be|act\s+as|pretend\s+to\s+be)\s+)(?-i:DAN)\b",
        # "developer mode" alone is an Android setting; aimed at the model it is a jailbreak.
        "mode": rf"\byou(?:'re|\s+are)\s+(?:now\s+)?(?:in|running\s+in|operating\s+in)\s+"
        rf"{_MODE}\s+mode\b"
        rf"|\b(?:chatgpt|gpt|assistant|ai|model|llm|yourself)\s+(?:with|in)\s+{_MODE}\s+mode\b"
        rf"|\b{_MODE}\s+mode\s+(?:enabled|activated|on)\b[^\n]{{0,80}}\b(?:you|your)\b"
        rf"|\b(?:you|your)\b[^\n]{{0,80}}\b{_MODE}\s+mode\s+(?:enabled|activated)\b",
        "no_limits": r"\b(?:pretend|imagine|act\s+as\s+if|act\s+like|behave\s+as\s+if"
        r"|assume|suppose)\b[^.\n]{0,20}\byou\b[^.\n]{0,30}"
        rf"\b(?:no|zero|without(?:\s+any)?|free\s+(?:of|from)|not\s+bound\s+by|unbound\s+by)\s+"
        rf"(?:\w+\s+)?{_LIMITS}\b",
        # Asking for the model's own instructions; "the original instructions for the shelf"
        # or "print the system message in LangChain" say "the", not "your".
        "extract": r"\b(?:reveal|print|show|display|output|repeat|recite|leak|dump|expose"
        r"|disclose|divulge|spell\s+out|write\s+out|type\s+out|tell\s+me|give\s+me|share)\b"
        r"[^.\n]{0,30}\byour\s+(?:\w+\s+)?(?:system|initial|original|hidden|secret|internal"
        r"|confidential|developer|pre-?)\s*(?:prompt|instructions|message|directives|rules)\b"
        r"|\bwhat(?:'s|\s+is|\s+are|\s+was|\s+were)\s+(?:in\s+)?your\s+(?:system\s+prompt"
        r"|system\s+message|initial\s+(?:prompt|instructions)|hidden\s+(?:prompt|instructions)"
        r"|secret\s+instructions|pre-?prompt)\b"
        r"|\brepeat\b[^.\n]{0,40}\b(?:above|before)\b[^.\n]{0,40}\bstart(?:ing)?\s+with\b",
        # Chat-template tokens and role headers have no business in a user's text.
        "template": r"<\|(?:im_start|im_end|system|user|assistant|endoftext|eot_id"
        r"|start_header_id|end_header_id|begin_of_text)\|>"
        r"|\[/?INST\]|<</?SYS>>|<(?:start|end)_of_turn>",
        "role_header": r"^[ \t]*(?:#{1,6}|\[|<)[ \t]*(?:system|developer|admin)"
        r"(?:[ \t]+(?:prompt|message|instructions?|override))?[ \t]*(?:\]|>|:)"
        r"|^[ \t]*(?-i:SYSTEM|ADMIN)(?:[ \t]+(?-i:OVERRIDE|MESSAGE|PROMPT|INSTRUCTIONS?))?[ \t]*:",
        "hidden_payload": r"\b(?:follow|obey|execute|carry\s+out)\b[^.\n]{0,15}"
        r"\b(?:the\s+)?(?:decoded|hidden|encoded|embedded)\s+(?:instructions?|commands?"
        r"|message)\b",
        # Text planted for a model that reads it on a user's behalf.
        "indirect": r"\b(?:if\s+you\s+are|you\s+are|attention|note\s+(?:to|for)"
        r"|instructions?\s+(?:to|for)|message\s+(?:to|for))\s+(?:an?|the|any)\s+"
        r"(?:ai|a\.i\.|llm|language\s+model|large\s+language\s+model|ai\s+assistant"
        r"|assistant|chatbot|bot)\b[^.\n]{0,20}\b(?:reading|processing|summari[sz]ing"
        r"|parsing|analy[sz]ing|reviewing|browsing)\b",
    }.items()
}
"""Named phrasings that are an injection on their own, matched on the normalised text."""


class InjectionCheck:
    """A whole-text verdict (category ``PROMPT_INJECTION``): a tell-tale phrasing or hidden
    characters (score 1.0), or a window of the text at least ``threshold`` similar to a
    known attack (score: that similarity)."""

    max_match_chars = 0

    def __init__(
        self,
        name: str,
        embedder: Embedder | None,
        *,
        attacks: Sequence[str] = (),
        threshold: float = 0.75,
        heuristics: bool = True,
        max_windows: int = MAX_WINDOWS,
    ) -> None:
        if attacks and embedder is None:
            raise ValueError(f"check '{name}' compares against attacks but has no embedder")
        self.name = name
        self.threshold = threshold
        self._embedder = embedder
        self._heuristics = heuristics
        self._max_windows = max_windows
        self._index = ExampleIndex(attacks) if attacks else None

    @classmethod
    def from_config(cls, config: InjectionCheckConfig, embedder: Embedder) -> InjectionCheck:
        attacks = [*(BUILTIN_ATTACKS if config.builtin_attacks else ()), *config.attacks]
        return cls(
            config.check_name,
            embedder,
            attacks=list(dict.fromkeys(attacks)),
            threshold=config.threshold,
            heuristics=config.heuristics,
            max_windows=config.max_windows,
        )

    async def prepare(self) -> None:
        """Embed the known attacks now rather than on the first prompt."""
        if self._index is not None and self._embedder is not None:
            await self._index.matrix(self._embedder)

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        normalized = normalize(text)
        if self._heuristics and (has_hidden_characters(text) or matches_heuristics(normalized)):
            return [Finding(self.name, CATEGORY, 0, 0)]
        similarity = await self.similarity(normalized)
        if similarity is None or similarity < self.threshold:
            return []
        return [Finding(self.name, CATEGORY, 0, 0, score=similarity)]

    async def similarity(self, normalized: str) -> float | None:
        """The best similarity of any window of the (normalised) text to any known attack;
        None when there is nothing to compare."""
        windows = text_windows(normalized, max_windows=self._max_windows)
        if self._index is None or self._embedder is None or not windows:
            return None
        similarities = await self._index.similarities(self._embedder, windows)
        return float(np.max(similarities))


def matches_heuristics(normalized: str) -> str | None:
    """The name of the first tell-tale phrasing in the normalised text, or None."""
    folded = fold_leetspeak(normalized)
    for name, pattern in HEURISTICS.items():
        if pattern.search(folded):
            return name
    return None
