"""A replica's adapter registry: names to weights, and what a live change makes stale."""

import pytest

from cluster.config.lora import AdapterConfig
from cluster.models.adapters import AdapterRegistry
from services.errors import ModelNotFoundError


class RecordingDownloader:
    """Ray's LoraModelLoader's interface: a cache by name and an async load."""

    def __init__(self) -> None:
        self.disk_cache: dict[str, object] = {}
        self.loaded: list[tuple[str, str]] = []

    async def load_model(self, name: str, mirror: object) -> object:
        from ray.llm._internal.serve.core.configs.llm_config import DiskMultiplexConfig

        self.loaded.append((name, mirror.bucket_uri))
        config = DiskMultiplexConfig(
            model_id=name, max_total_tokens=None, local_path="/cache/x", lora_assigned_int_id=7
        )
        self.disk_cache[name] = config
        return config


@pytest.fixture
def registry() -> AdapterRegistry:
    registry = AdapterRegistry("base", 512, downloader=RecordingDownloader())
    registry.update([AdapterConfig(name="a", path="/adapters/a")])
    return registry


async def test_a_local_adapter_resolves_to_its_folder(registry: AdapterRegistry) -> None:
    loaded = await registry.resolve("base:a")
    assert (loaded.model_id, loaded.local_path, loaded.max_total_tokens) == (
        "base:a",
        "/adapters/a",
        512,
    )
    assert await registry.resolve("base:a") is loaded
    assert registry.is_current(loaded)


async def test_an_unknown_adapter_is_not_found(registry: AdapterRegistry) -> None:
    with pytest.raises(ModelNotFoundError, match="base:b.*base:a"):
        await registry.resolve("base:b")


async def test_a_moved_or_removed_adapter_is_stale(registry: AdapterRegistry) -> None:
    loaded = await registry.resolve("base:a")
    assert registry.update([AdapterConfig(name="a", path="/adapters/a2")]) == ["base:a"]
    assert not registry.is_current(loaded)
    moved = await registry.resolve("base:a")
    assert moved.local_path == "/adapters/a2"
    assert moved.lora_assigned_int_id != loaded.lora_assigned_int_id
    assert registry.update([]) == ["base:a"]
    assert registry.names == []


async def test_an_unchanged_update_keeps_what_was_loaded(registry: AdapterRegistry) -> None:
    loaded = await registry.resolve("base:a")
    assert registry.update([AdapterConfig(name="a", path="/adapters/a")]) == []
    assert registry.is_current(loaded)


async def test_a_remote_adapter_goes_through_rays_downloader() -> None:
    downloader = RecordingDownloader()
    registry = AdapterRegistry("base", None, downloader=downloader)
    registry.update([AdapterConfig(name="r", path="s3://bucket/r")])
    loaded = await registry.resolve("base:r")
    assert downloader.loaded == [("base:r", "s3://bucket/r")]
    assert loaded.local_path == "/cache/x"
    registry.update([])
    assert "base:r" not in downloader.disk_cache
