"""Ray Serve LLM's ``LLMServer``, extended with what operators and tests need to see and
with llm-fleet's grouping of streamed chunks.

Ray's server exposes no count of the requests its engine is working on; we read
it from the vLLM engine client. This module is the one place that touches those
internals.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from typing import Any

from ray.serve.llm import LLMServer

from cluster.models.coalescing import coalesce

# The keys of ``LLMConfig.experimental_configs`` that set the grouping (the model's
# ``streaming`` config): Ray's own interval knob and our count limit.
INTERVAL_KEY = "stream_batching_interval_ms"
MAX_CHUNKS_KEY = "llm_fleet_stream_max_chunks"

# vLLM's streamed chunks whose text is empty: a chat stream's opening role chunk, a token
# that ends inside a multi-byte character.
_EMPTY_TEXT = ('"text":""', '"content":""')


def carries_text(chunk: Any) -> bool:
    """Whether an engine chunk shows the caller text (errors count: they go out at once)."""
    return not isinstance(chunk, str) or not any(empty in chunk for empty in _EMPTY_TEXT)


class FleetLLMServer(LLMServer):
    async def unfinished_requests(self) -> int:
        """Requests the vLLM engine has accepted and not yet finished or aborted."""
        engine_client = getattr(self.engine, "_engine_client", None)
        if engine_client is None:
            return 0
        return engine_client.output_processor.get_num_unfinished_requests()

    def _batch_output_stream(
        self, generator: AsyncGenerator[Any, None]
    ) -> AsyncGenerator[list[Any], None]:
        # Replaces Ray's Batcher, which holds the first chunk for the whole interval too.
        settings = self._llm_config.experimental_configs
        return coalesce(
            generator,
            interval_s=float(settings[INTERVAL_KEY]) / 1000,
            max_chunks=int(settings[MAX_CHUNKS_KEY]),
            carries_text=carries_text,
        )
