"""The prompt-length limit, in the served model's tokens."""

from __future__ import annotations

from collections.abc import Callable

from services.guardrails.check_config import MaxPromptTokensCheckConfig
from services.guardrails.findings import Finding

CATEGORY = "PROMPT_TOO_LONG"


class MaxPromptTokensCheck:
    """A whole-text verdict (no span): the prompt has more than ``limit`` tokens."""

    max_match_chars = 0

    def __init__(self, name: str, limit: int, count_tokens: Callable[[str], int]) -> None:
        # The tokenizer is injected: it belongs to the served model, which the router knows.
        self.name = name
        self._limit = limit
        self._count_tokens = count_tokens

    @classmethod
    def from_config(
        cls, config: MaxPromptTokensCheckConfig, count_tokens: Callable[[str], int]
    ) -> MaxPromptTokensCheck:
        return cls(config.check_name, config.limit, count_tokens)

    def scan(self, text: str) -> list[Finding]:
        if self._count_tokens(text) > self._limit:
            return [Finding(self.name, CATEGORY, 0, 0)]
        return []
