"""Edit a cluster config file in place, keeping its comments, anchors and layout.

Operators keep their config under version control, with comments that explain choices; a
command that registers an adapter must change the one list it is about and nothing else.
Every edit is validated (the whole file, as ``fleet up`` would) before it is written.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError

from cluster.config.loader import ConfigError, config_from_text
from cluster.config.lora import AdapterConfig
from cluster.config.schema import ClusterConfig


def _yaml() -> YAML:
    yaml = YAML()
    # The layout of deploy/configs/*.yaml: list items indented under their key.
    yaml.indent(mapping=2, sequence=4, offset=2)
    yaml.width = 4096
    yaml.preserve_quotes = True
    return yaml


def _load(path: Path) -> Any:
    try:
        return _yaml().load(path.read_text())
    except (OSError, YAMLError) as error:
        raise ConfigError(f"{path}: cannot read: {error}") from None


def _model(document: Any, path: Path, name: str) -> Any:
    for model in document.get("models") or []:
        if model.get("name") == name:
            return model
    known = ", ".join(str(model.get("name")) for model in document.get("models") or [])
    raise ConfigError(f"{path}: models: no model named '{name}' (known: {known})")


Check = Callable[[ClusterConfig, str], None]
"""A check of the edited config (e.g. ``check_adapters``); raises ConfigError."""


def _write_checked(document: Any, path: Path, check: Check | None) -> ClusterConfig:
    buffer = io.StringIO()
    _yaml().dump(document, buffer)
    text = buffer.getvalue()
    config = config_from_text(text, path)
    if check is not None:
        check(config, str(path))
    path.write_text(text)
    return config


def add_adapter(
    path: Path, model: str, adapter: AdapterConfig, check: Check | None = None
) -> ClusterConfig:
    """List ``adapter`` under ``model``'s ``lora.adapters`` in the file at ``path``; the
    file is written only if the result validates and passes ``check``.

    A model without ``lora`` gets vLLM's defaults for it, which changes its engine: the
    caller should say that applying it restarts the model."""
    document = _load(path)
    entry = _model(document, path, model)
    lora = entry.setdefault("lora", {})
    adapters = lora.setdefault("adapters", [])
    if any(item.get("name") == adapter.name for item in adapters):
        raise ConfigError(
            f"{path}: models ({model}).lora.adapters: '{adapter.name}' is already listed "
            "(remove it first, or pick another name: a served adapter's weights never "
            "change under its name)"
        )
    adapters.append(adapter.model_dump(exclude_defaults=True))
    return _write_checked(document, path, check)


def remove_adapter(path: Path, model: str, name: str) -> ClusterConfig:
    """Drop adapter ``name`` from ``model``'s ``lora.adapters`` in the file at ``path``."""
    document = _load(path)
    adapters = (_model(document, path, model).get("lora") or {}).get("adapters") or []
    for index, item in enumerate(adapters):
        if item.get("name") == name:
            del adapters[index]
            return _write_checked(document, path, None)
    listed = ", ".join(str(item.get("name")) for item in adapters) or "none"
    raise ConfigError(f"{path}: models ({model}).lora.adapters: no adapter '{name}' ({listed})")
