"""Checks of a validated config against the outside world, run once before deploying."""

from __future__ import annotations

import dataclasses
import json
import ssl
from functools import cache
from pathlib import Path

from cluster.config.loader import ConfigError
from cluster.config.schema import ZOO_PREFIX, ClusterConfig, EngineConfig, ModelConfig

# Our typed engine fields, by the vLLM engine argument each one becomes.
TYPED_ENGINE_FIELDS = tuple(EngineConfig.model_fields.keys() - {"extra_args"})


def resolve_source(model: ModelConfig) -> str:
    """The path or hub id vLLM loads for ``model``."""
    if model.is_zoo_model:
        from cluster.zoo import zoo_path

        return str(zoo_path(model.source.removeprefix(ZOO_PREFIX)))
    return model.source


@cache
def vllm_engine_argument_names() -> frozenset[str]:
    from vllm.engine.arg_utils import AsyncEngineArgs

    return frozenset(field.name for field in dataclasses.fields(AsyncEngineArgs))


def check_engine_arguments(config: ClusterConfig, source: str = "config") -> None:
    """Every engine argument must be one vLLM knows, so a typo fails before any engine starts."""
    known = vllm_engine_argument_names()
    for index, model in enumerate(config.models):
        unknown = sorted(set(model.engine.extra_args) - known)
        if unknown:
            raise ConfigError(
                f"{source}: models[{index}] (name: {model.name}).engine.extra_args: "
                f"not vLLM engine arguments: {', '.join(unknown)}"
            )


def check_sources_exist(config: ClusterConfig, source: str = "config") -> None:
    """Local model folders (zoo ones included) must exist before anything starts."""
    for index, model in enumerate(config.models):
        location = resolve_source(model)
        looks_local = model.is_zoo_model or location.startswith(("/", "./", "../", "~"))
        if looks_local and not Path(location).expanduser().is_dir():
            hint = " (run `fleet zoo build`)" if model.is_zoo_model else ""
            raise ConfigError(
                f"{source}: models[{index}] (name: {model.name}).source: "
                f"no model folder at {location}{hint}"
            )


def check_adapters(config: ClusterConfig, source: str = "config") -> None:
    """Each local adapter folder holds a PEFT LoRA adapter the model's engine can take."""
    for index, model in enumerate(config.models):
        if model.lora is None:
            continue
        for position, adapter in enumerate(model.lora.adapters):
            if adapter.is_remote:
                continue
            where = f"{source}: models[{index}] (name: {model.name}).lora.adapters[{position}]"
            settings = Path(adapter.path).expanduser() / "adapter_config.json"
            try:
                rank = int(json.loads(settings.read_text())["r"])
            except (OSError, ValueError, KeyError, TypeError) as error:
                raise ConfigError(
                    f"{where}.path: no PEFT LoRA adapter at {adapter.path} "
                    f"({type(error).__name__}: {error}; `fleet finetune --out` writes one)"
                ) from None
            if rank > model.lora.max_rank:
                raise ConfigError(
                    f"{where}.path: the adapter's rank {rank} exceeds "
                    f"models[{index}].lora.max_rank ({model.lora.max_rank})"
                )
            trained_on = _trained_base(Path(adapter.path).expanduser(), where)
            serves = {model.source, resolve_source(model)}
            if trained_on is not None and not serves & set(trained_on):
                raise ConfigError(
                    f"{where}.path: the adapter was fine-tuned from {trained_on[0]}, "
                    f"but this model serves {model.source}"
                )


def _trained_base(folder: Path, where: str) -> tuple[str, str] | None:
    """The base model (source, folder) `fleet finetune` recorded for an adapter, if it
    wrote the adapter; adapters from elsewhere carry no such record."""
    from cluster.finetune.errors import ManifestError
    from cluster.finetune.manifest import MANIFEST_FILE, load_manifest

    if not (folder / MANIFEST_FILE).is_file():
        return None
    try:
        base = load_manifest(folder).base
    except ManifestError as error:
        raise ConfigError(f"{where}.path: {error}") from None
    return base.source, base.path


def check_tls_files(config: ClusterConfig, source: str = "config") -> None:
    """Each endpoint's certificate loads with its key, and a client CA bundle loads, here
    rather than as a proxy that fails to start."""
    for where, tls in (("http.tls", config.http.tls), ("grpc.tls", config.grpc.tls)):
        if tls is None:
            continue
        try:
            ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER).load_cert_chain(tls.cert_file, tls.key_file)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(
                f"{source}: {where}.cert_file/key_file: cannot load {tls.cert_file} with "
                f"{tls.key_file}: {error}"
            ) from None
        client_ca = getattr(tls, "client_ca_file", None)
        if client_ca is None:
            continue
        try:
            ssl.create_default_context(cafile=client_ca)
        except (OSError, ssl.SSLError) as error:
            raise ConfigError(
                f"{source}: {where}.client_ca_file: cannot load {client_ca}: {error}"
            ) from None


def check_config(config: ClusterConfig, source: str = "config") -> None:
    """All checks that need vLLM or the file system."""
    check_engine_arguments(config, source)
    check_sources_exist(config, source)
    check_adapters(config, source)
    check_tls_files(config, source)
