"""The prompt-length limit, in the served model's tokens."""

from __future__ import annotations

from services.guardrails.check_config import MaxPromptTokensCheckConfig
from services.guardrails.findings import Finding, GuardContext

CATEGORY = "PROMPT_TOO_LONG"


class MaxPromptTokensCheck:
    """A whole-request verdict (no span): the prompt, chat template applied, has more than
    ``limit`` tokens of the model that serves it. The count comes from the request's
    context, since only the router knows which model that is."""

    max_match_chars = 0

    def __init__(self, name: str, limit: int) -> None:
        self.name = name
        self._limit = limit

    @classmethod
    def from_config(cls, config: MaxPromptTokensCheckConfig) -> MaxPromptTokensCheck:
        return cls(config.check_name, config.limit)

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        if context.count_prompt_tokens is None:
            raise ValueError("the request carries no token counter")
        if await context.count_prompt_tokens() > self._limit:
            return [Finding(self.name, CATEGORY, 0, 0)]
        return []
