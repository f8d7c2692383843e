"""Load a cluster configuration file, failing early with the file and field named."""

from __future__ import annotations

from pathlib import Path

import yaml
from pydantic import ValidationError

from cluster.config.schema import ClusterConfig, ModelConfig
from services.routing.config import ROUTE_KINDS, route_kind
from services.tls_gateway.config import TlsConfig

DEFAULT_CONFIG = Path(__file__).resolve().parents[2] / "deploy" / "configs" / "local.yaml"


class ConfigError(ValueError):
    """A configuration file is unreadable or invalid."""


def _field_path(location: tuple[int | str, ...], document: object) -> str:
    """``models[1].engine.dtype``, with the model's name where there is one."""
    parts: list[str] = []
    node = document
    previous: int | str | None = None
    for key in location:
        if isinstance(key, int):
            name = node[key].get("name") if _is_list_of_dicts(node, key) else None
            parts[-1] += f"[{key}]" if name is None else f"[{key}] (name: {name})"
        elif isinstance(previous, int) and _is_route_kind_tag(node, key):
            # pydantic puts a route's `kind` in the location; it is no field of the file.
            previous = key
            continue
        else:
            parts.append(str(key))
        node = _child(node, key)
        previous = key
    return ".".join(parts) or "(top level)"


def _is_route_kind_tag(node: object, key: str) -> bool:
    return isinstance(node, dict) and key in ROUTE_KINDS and route_kind(node) == key


def _is_list_of_dicts(node: object, index: int) -> bool:
    return isinstance(node, list) and index < len(node) and isinstance(node[index], dict)


def _child(node: object, key: int | str) -> object:
    if isinstance(node, dict):
        return node.get(key)
    if isinstance(node, list) and isinstance(key, int) and key < len(node):
        return node[key]
    return None


def parse_config(text: str, source: str = "<string>") -> ClusterConfig:
    """Validate YAML text; ``source`` names the file in error messages."""
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ConfigError(f"{source}: not valid YAML: {error}") from error
    if not isinstance(document, dict):
        raise ConfigError(f"{source}: expected a mapping at the top level")
    try:
        return ClusterConfig.model_validate(document)
    except ValidationError as error:
        problems = [
            f"  {_field_path(issue['loc'], document)}: {issue['msg']}" for issue in error.errors()
        ]
        raise ConfigError(f"{source}: invalid configuration\n" + "\n".join(problems)) from None


def load_config(path: Path | str | None = None) -> ClusterConfig:
    """Read and validate a configuration file (the embedded default when None).

    Relative local model folders are taken relative to the file, not the cwd.
    """
    config_path = Path(path) if path is not None else DEFAULT_CONFIG
    try:
        text = config_path.read_text()
    except OSError as error:
        raise ConfigError(f"{config_path}: cannot read: {error.strerror}") from error
    return config_from_text(text, config_path)


def config_from_text(text: str, config_path: Path) -> ClusterConfig:
    """Validate ``text`` as the content of the file at ``config_path``."""
    config = parse_config(text, str(config_path))
    return _anchor_relative_paths(config, config_path.resolve().parent)


def _anchor_relative_paths(config: ClusterConfig, base: Path) -> ClusterConfig:
    auth = config.auth
    if auth.keys_file is not None:
        auth = auth.model_copy(update={"keys_file": str((base / auth.keys_file).resolve())})
    http, grpc = config.http, config.grpc
    if http.tls is not None:
        http = http.model_copy(update={"tls": _anchored_files(http.tls, base)})
    if grpc.tls is not None:
        grpc = grpc.model_copy(update={"tls": _anchored_files(grpc.tls, base)})
    models = [_anchored_model(model, base) for model in config.models]
    return config.model_copy(update={"models": models, "auth": auth, "http": http, "grpc": grpc})


def _anchored_model(model: ModelConfig, base: Path) -> ModelConfig:
    if model.source.startswith(("./", "../")):
        model = model.model_copy(update={"source": str((base / model.source).resolve())})
    if model.lora is None:
        return model
    # An adapter folder written next to the config (`fleet finetune --out adapters/x`).
    adapters = [
        adapter
        if adapter.is_remote or Path(adapter.path).expanduser().is_absolute()
        else adapter.model_copy(update={"path": str((base / adapter.path).resolve())})
        for adapter in model.lora.adapters
    ]
    return model.model_copy(update={"lora": model.lora.model_copy(update={"adapters": adapters})})


def _anchored_files(tls: TlsConfig, base: Path) -> TlsConfig:
    paths = {
        name: str((base / path).resolve())
        for name in tls.PATH_FIELDS
        if (path := getattr(tls, name)) is not None
    }
    return tls.model_copy(update=paths)
