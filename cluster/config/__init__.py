"""The cluster configuration: schema, loading and pre-flight checks."""

from cluster.config.loader import DEFAULT_CONFIG, ConfigError, load_config, parse_config
from cluster.config.schema import ClusterConfig, EngineConfig, ModelConfig

__all__ = [
    "DEFAULT_CONFIG",
    "ClusterConfig",
    "ConfigError",
    "EngineConfig",
    "ModelConfig",
    "load_config",
    "parse_config",
]
