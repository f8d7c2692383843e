"""The LoRA adapters one model replica serves, and where each one's weights are.

Ray Serve LLM loads adapters only from cloud storage (its ``LoraModelLoader`` downloads
``<dynamic_lora_loading_path>/<adapter>``), and only adapters that share one bucket.
llm-fleet's adapters are named one by one in the cluster config, each with its own
location: a local folder (what ``fleet finetune`` writes) is handed to vLLM as it is, a
cloud URI goes through Ray's own loader (download once, cached on the node). The set
changes on a live replica (Ray Serve ``reconfigure``), so this registry is the one place
that knows which adapter names are current and what was loaded from where.
"""

from __future__ import annotations

from pathlib import Path

from ray.llm._internal.common.models import global_id_manager
from ray.llm._internal.common.utils.cloud_utils import LoraMirrorConfig
from ray.llm._internal.serve.core.configs.llm_config import DiskMultiplexConfig
from ray.llm._internal.serve.utils.lora_serve_utils import LoraModelLoader

from cluster.config.lora import AdapterConfig, adapter_model_name
from services.errors import ModelNotFoundError


class AdapterRegistry:
    """The adapters of one base model, by the name callers use (``<model>:<adapter>``)."""

    def __init__(
        self,
        model: str,
        max_total_tokens: int | None,
        downloader: LoraModelLoader | None = None,
    ) -> None:
        self._model = model
        self._max_total_tokens = max_total_tokens
        self._downloader = downloader or LoraModelLoader()
        self._adapters: dict[str, AdapterConfig] = {}
        # What was resolved for each name, so a name keeps its vLLM id while its
        # location stays the same.
        self._resolved: dict[str, tuple[str, DiskMultiplexConfig]] = {}

    @property
    def names(self) -> list[str]:
        return sorted(self._adapters)

    def update(self, adapters: list[AdapterConfig]) -> list[str]:
        """Make ``adapters`` the current set; returns the names that went away or now
        point elsewhere, which the engine must forget."""
        current = {adapter_model_name(self._model, item.name): item for item in adapters}
        stale = [
            name
            for name, (path, _) in self._resolved.items()
            if name not in current or current[name].path != path
        ]
        for name in stale:
            del self._resolved[name]
            self._downloader.disk_cache.pop(name, None)
        self._adapters = current
        return stale

    def is_current(self, loaded: DiskMultiplexConfig) -> bool:
        """Whether what Serve's multiplexing cached for a name is what the name means now."""
        resolved = self._resolved.get(loaded.model_id)
        return resolved is not None and resolved[1] == loaded

    async def resolve(self, name: str) -> DiskMultiplexConfig:
        """Where the weights of adapter ``name`` are on this node (downloaded if remote)."""
        adapter = self._adapters.get(name)
        if adapter is None:
            raise ModelNotFoundError(name, self.names)
        resolved = self._resolved.get(name)
        if resolved is not None and resolved[0] == adapter.path:
            return resolved[1]
        if adapter.is_remote:
            mirror = LoraMirrorConfig(
                lora_model_id=name,
                bucket_uri=adapter.path,
                max_total_tokens=self._max_total_tokens,
            )
            loaded = await self._downloader.load_model(name, mirror)
        else:
            loaded = DiskMultiplexConfig(
                model_id=name,
                max_total_tokens=self._max_total_tokens,
                local_path=str(Path(adapter.path).expanduser()),
                lora_assigned_int_id=global_id_manager.next(),
            )
        self._resolved[name] = (adapter.path, loaded)
        return loaded
