"""``fleet adapters``: register LoRA adapters in a cluster config, and serve them live."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cluster.cli.failure import fail

adapters_app = typer.Typer(
    help="Register LoRA adapters (e.g. from `fleet finetune`) beside their base model."
)

ConfigArgument = Annotated[Path, typer.Argument(help="The cluster config file to edit.")]
ModelArgument = Annotated[str, typer.Argument(help="The base model's name in the config.")]
ApplyOption = Annotated[
    bool, typer.Option("--apply", help="Then roll the config out to the running cluster.")
]


@adapters_app.command("add")
def add(
    config: ConfigArgument,
    model: ModelArgument,
    folder: Annotated[str, typer.Argument(help="The adapter folder, or an s3:// gs:// URI.")],
    name: Annotated[
        str | None, typer.Option("--name", help="Callers say MODEL:NAME (default: the folder's).")
    ] = None,
    description: Annotated[str, typer.Option("--description")] = "",
    apply_now: ApplyOption = False,
) -> None:
    """List an adapter under MODEL's lora.adapters in CONFIG (comments and layout kept),
    after checking it fits the model (a PEFT LoRA folder, its rank, its base model)."""
    from cluster.config import ConfigError, load_config
    from cluster.config.checks import check_adapters
    from cluster.config.editing import add_adapter
    from cluster.config.lora import REMOTE_ADAPTER_PREFIXES, AdapterConfig, adapter_model_name

    remote = folder.startswith(REMOTE_ADAPTER_PREFIXES)
    location = folder if remote else str(Path(folder).expanduser().resolve())
    adapter_name = name or location.rstrip("/").rsplit("/", 1)[-1]
    try:
        adapter = AdapterConfig(name=adapter_name, path=location, description=description)
        enables_lora = any(m.name == model and m.lora is None for m in load_config(config).models)
        add_adapter(config, model, adapter, check=check_adapters)
    except ConfigError as error:
        raise fail(str(error)) from None
    except ValueError as error:  # the adapter's own fields (pydantic)
        raise fail(f"{config}: models ({model}).lora.adapters: {error}") from None
    typer.secho(f"added {adapter_model_name(model, adapter_name)} to {config}", fg="green")
    if enables_lora:
        typer.secho(
            f"note: {model} had no `lora:` section; applying turns vLLM's multi-LoRA on, "
            "which restarts its replicas (rolling). Adapters after this one are live.",
            fg=typer.colors.YELLOW,
        )
    _apply_or_hint(config, apply_now)


@adapters_app.command("remove")
def remove(
    config: ConfigArgument,
    model: ModelArgument,
    name: Annotated[str, typer.Argument(help="The adapter's name (without MODEL:).")],
    apply_now: ApplyOption = False,
) -> None:
    """Drop an adapter from CONFIG; once applied, callers naming it get 404."""
    from cluster.config import ConfigError
    from cluster.config.editing import remove_adapter

    try:
        remove_adapter(config, model, name.removeprefix(f"{model}:"))
    except ConfigError as error:
        raise fail(str(error)) from None
    typer.secho(f"removed {model}:{name.removeprefix(f'{model}:')} from {config}", fg="green")
    _apply_or_hint(config, apply_now)


@adapters_app.command("list")
def list_adapters(
    config: Annotated[
        Path | None, typer.Option("--config", "-c", help="Default: the embedded config.")
    ] = None,
) -> None:
    """The adapters a config serves, by the names callers use."""
    from cluster.cli.main import load_checked_config

    cluster_config = load_checked_config(config)
    listed = False
    for model in cluster_config.models:
        for adapter in model.lora.adapters if model.lora else []:
            listed = True
            typer.echo(f"{model.name}:{adapter.name}\t{adapter.path}\t{adapter.description}")
    if not listed:
        typer.echo("no adapters")


def _apply_or_hint(config: Path, apply_now: bool) -> None:
    if apply_now:
        from cluster.cli.operations import apply

        apply(config)
    else:
        typer.echo(f"serve it with: fleet apply {config}  (live: no restart)")
