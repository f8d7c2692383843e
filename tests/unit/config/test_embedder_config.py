import pytest
from pydantic import ValidationError

from cluster.config import ConfigError, parse_config
from services.embedder.config import EmbedderConfig

MINIMAL = """
models:
  - name: tiny-qwen2
    source: zoo:tiny-qwen2
"""


def test_defaults_suit_a_small_cpu_box() -> None:
    config = EmbedderConfig()
    assert config.replicas == 1
    assert config.num_cpus == 0
    assert config.threads == 1
    assert config.precision == "auto"
    assert config.max_ongoing_requests >= config.max_batch_size
    assert config.batch_wait_timeout_s == 0.0


def test_cluster_config_has_a_default_embedder() -> None:
    assert parse_config(MINIMAL).embedder == EmbedderConfig()


def test_embedder_section_is_read() -> None:
    section = "{replicas: 2, num_cpus: 0.5, threads: 2, precision: float32}"
    text = MINIMAL + f"embedder: {section}\n"
    embedder = parse_config(text).embedder
    assert (embedder.replicas, embedder.num_cpus, embedder.threads) == (2, 0.5, 2)
    assert embedder.precision == "float32"


@pytest.mark.parametrize(
    "section",
    [
        "{replicas: 0}",
        "{num_cpus: -1}",
        "{threads: 0}",
        "{max_ongoing_requests: 0}",
        "{precision: int8}",
        "{max_batch_size: 0}",
        "{batch_wait_timeout_s: -0.001}",
        "{backend: tensorrt}",
        "{torch_threads: 2}",
        "{max_ongoing_requests: 8, max_batch_size: 16}",
    ],
)
def test_invalid_embedder_settings_name_the_section(section: str) -> None:
    with pytest.raises(ConfigError, match="embedder"):
        parse_config(MINIMAL + f"embedder: {section}\n")


def test_is_frozen() -> None:
    with pytest.raises(ValidationError):
        EmbedderConfig().replicas = 3  # type: ignore[misc]
