"""A served model of the cluster as the judge of guard checks."""

from __future__ import annotations

from contextlib import aclosing

from services.errors import ServerError
from services.router.backend import ModelBackend
from services.router.requests import CompletionRequest, ErrorResponse


class BackendJudge:
    """Asks a served model through the router's own backend, greedily and briefly."""

    def __init__(self, backend: ModelBackend) -> None:
        self._backend = backend

    async def complete(self, model: str, prompt: str, max_tokens: int) -> str:
        request = CompletionRequest(
            model=model,
            prompt=prompt,
            max_tokens=max_tokens,
            temperature=0,
            # The judge prompt carries its own <|begin_of_text|>; a second one would
            # change what the model reads.
            add_special_tokens=False,
            stream=False,
        )
        async with aclosing(self._backend.call(model, "completions", request)) as items:
            async for item in items:
                head = item[0] if isinstance(item, list) and item else item
                if isinstance(head, ErrorResponse):
                    raise ServerError(f"judge model '{model}' failed: {head.error.message}")
                return head.choices[0].text or ""
        raise ServerError(f"judge model '{model}' returned nothing")
