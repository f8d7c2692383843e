"""Ray Serve LLM's ``LLMServer``, extended with what operators and tests need to see, with
llm-fleet's grouping of streamed chunks and with LoRA adapters named in the cluster config.

Ray's server exposes no count of the requests its engine is working on; we read
it from the vLLM engine client. This module is the one place that touches those
internals.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import AsyncGenerator, Awaitable, Callable
from typing import Any

from ray import serve
from ray.serve.llm import LLMServer

from cluster.config.lora import AdapterConfig
from cluster.models.adapters import AdapterRegistry
from cluster.models.coalescing import coalesce

# The keys of ``LLMConfig.experimental_configs`` that set the grouping (the model's
# ``streaming`` config): Ray's own interval knob and our count limit.
INTERVAL_KEY = "stream_batching_interval_ms"
MAX_CHUNKS_KEY = "llm_fleet_stream_max_chunks"

logger = logging.getLogger(__name__)
# How often a replica asks its engine whether it is alive.
ENGINE_WATCH_INTERVAL_S = 1.0

# vLLM's streamed chunks whose text is empty: a chat stream's opening role chunk, a token
# that ends inside a multi-byte character.
_EMPTY_TEXT = ('"text":""', '"content":""')


def carries_text(chunk: Any) -> bool:
    """Whether an engine chunk shows the caller text (errors count: they go out at once)."""
    return not isinstance(chunk, str) or not any(empty in chunk for empty in _EMPTY_TEXT)


async def watch_engine(
    check_health: Callable[[], Awaitable[None]],
    on_death: Callable[[], None],
    interval_s: float = ENGINE_WATCH_INTERVAL_S,
) -> None:
    """Call ``on_death`` once ``check_health`` fails. vLLM's engine never comes back after
    its core process died (EngineDeadError); until Serve's health checks replace the replica
    (three misses, 10 s apart), it answers every request with that error at once, and
    Serve's router prefers it for its always-empty queue."""
    while True:
        await asyncio.sleep(interval_s)
        try:
            await check_health()
        except Exception as error:
            logger.error("the vLLM engine is dead (%s); ending this replica", error)
            on_death()
            return


def _exit_process() -> None:
    # Not a raise: the actor must end now, so that Serve's routers drop it and the
    # controller starts another (the engine's own processes follow their parent).
    os._exit(1)


class FleetLLMServer(LLMServer):
    async def start(self) -> None:
        await super().start()
        self._engine_watch = asyncio.create_task(watch_engine(self.check_health, _exit_process))

    def _init_multiplex_loader(self, model_downloader_cls: Any = None) -> None:
        # Ray's loader reads every adapter from one cloud bucket; ours are named in the
        # config one by one (AdapterRegistry). Serve's multiplexing stays: it keeps each
        # adapter on the replicas that loaded it and evicts the least recently used.
        self._adapters = AdapterRegistry(
            self._llm_config.model_id, self._llm_config.max_request_context_length
        )
        settings = self._llm_config.multiplex_config()
        if settings is None:
            super()._init_multiplex_loader(model_downloader_cls)
            return
        registry = self._adapters

        # A plain function: Serve keeps its cache on the first argument of a method.
        async def load_adapter(name: str) -> Any:
            return await registry.resolve(name)

        self._load_model = serve.multiplexed(
            max_num_models_per_replica=settings.max_num_models_per_replica
        )(load_adapter)

    async def reconfigure(self, user_config: dict[str, Any]) -> None:
        """Serve calls this with the model's user_config: its adapters, changed live."""
        adapters = [AdapterConfig.model_validate(item) for item in user_config.get("adapters", [])]
        for name in self._adapters.update(adapters):
            await self._forget_adapter(name)

    async def _forget_adapter(self, name: str) -> None:
        # Requests already running keep their adapter's weights; new ones resolve again.
        from vllm.entrypoints.serve.lora.protocol import UnloadLoRAAdapterRequest

        registered = getattr(self.engine, "_oai_models", None)
        if registered is not None and name in registered.lora_requests:
            await registered.unload_lora_adapter(UnloadLoRAAdapterRequest(lora_name=name))

    async def _maybe_resolve_lora_from_multiplex(self) -> None:
        adapter = serve.get_multiplexed_model_id()
        if not adapter:
            return
        loaded = await self._load_model(adapter)
        if not self._adapters.is_current(loaded):
            # Serve's cache still holds what the name meant before a reconfigure.
            loaded = await self._adapters.resolve(adapter)
        await self.engine.resolve_lora(loaded)

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
