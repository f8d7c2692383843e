"""Counting a request's prompt tokens with a served model's own tokenizer.

Rules with a prompt-length bound and the ``max_prompt_tokens`` guard check need this.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Protocol

from services.errors import ServerError
from services.router.types import RequestFacts

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerBase

logger = logging.getLogger(__name__)


class TokenizerUnavailableError(ServerError):
    """The tokenizer a prompt-length rule needs cannot be found or loaded."""


class TokenCounter(Protocol):
    async def count(self, model: str, facts: RequestFacts) -> int:
        """The prompt tokens ``model`` would see for the request: with the chat template
        and generation prompt for chat, the longest prompt of a completions batch."""
        ...


class HuggingFaceTokenCounter:
    """Loads each served model's tokenizer (transformers.AutoTokenizer) on first use.

    ``sources`` maps a served model's name to the local folder or hub id its tokenizer
    loads from. Build one per router and hand it to every routing table, so tokenizers
    survive live route changes.
    """

    def __init__(self, sources: Mapping[str, str]) -> None:
        self._sources = dict(sources)
        self._tokenizers: dict[str, PreTrainedTokenizerBase] = {}
        # One worker owns every tokenizer: loading (~1 s) and long prompts stay off the
        # event loop, and a fast tokenizer is never used from two threads at once (it
        # mutates its truncation state per call, which fails under concurrency).
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="token-counter")

    def preload(self, models: Iterable[str]) -> None:
        """Load these models' tokenizers in the background now, so that the first request
        that needs one does not wait ~1 s for it (a load that fails is reported then)."""
        for model in models:
            self._worker.submit(self._load_quietly, model)

    def _load_quietly(self, model: str) -> None:
        with contextlib.suppress(TokenizerUnavailableError):
            self._tokenizer(model)

    async def count(self, model: str, facts: RequestFacts) -> int:
        if facts.prompts and all(isinstance(p, tuple) for p in facts.prompts):
            return max(len(p) for p in facts.prompts)  # token ids need no tokenizer
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._worker, self._count_now, model, facts)

    def _count_now(self, model: str, facts: RequestFacts) -> int:
        tokenizer = self._tokenizer(model)
        if facts.is_chat:
            return _count_chat(tokenizer, facts)
        return max(
            (len(p) if isinstance(p, tuple) else len(tokenizer.encode(p)) for p in facts.prompts),
            default=0,
        )

    def _tokenizer(self, model: str) -> PreTrainedTokenizerBase:
        tokenizer = self._tokenizers.get(model)
        if tokenizer is not None:
            return tokenizer
        source = self._sources.get(model)
        if source is None:
            raise TokenizerUnavailableError(
                f"no tokenizer is known for model '{model}' "
                f"(known: {', '.join(sorted(self._sources)) or 'none'})"
            )
        from transformers import AutoTokenizer  # ~1 s to import; only routers that count

        try:
            tokenizer = AutoTokenizer.from_pretrained(source)
        except (OSError, ValueError) as error:
            raise TokenizerUnavailableError(
                f"cannot load the tokenizer of model '{model}' from {source}: {error}"
            ) from error
        self._tokenizers[model] = tokenizer
        return tokenizer


def _count_chat(tokenizer: PreTrainedTokenizerBase, facts: RequestFacts) -> int:
    messages: list[Any] = [dict(message) for message in facts.messages]
    try:
        ids = tokenizer.apply_chat_template(
            messages,
            tools=[dict(tool) for tool in facts.tools] or None,
            tokenize=True,
            add_generation_prompt=True,
            return_dict=False,
        )
        return len(ids)
    except Exception as error:  # templates raise anything: jinja errors, TypeError, ...
        # The engine judges whether the conversation is valid; routing only needs a
        # length, so count the text alone (a slight undercount) rather than fail here.
        logger.warning("chat template failed (%s); counting message text only", error)
        text = "\n".join(str(message.get("content") or "") for message in messages)
        return len(tokenizer.encode(text))
