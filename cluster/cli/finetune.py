"""`fleet finetune`: train a LoRA adapter of a served model from a JSONL of examples."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cluster.cli.failure import fail
from cluster.finetune.options import FinetuneOptions

if TYPE_CHECKING:
    from cluster.finetune import AdapterManifest, BaseModelRef, TrainingData, TrainingProgress

DEFAULTS = FinetuneOptions()
# Each option's flag, to name it when FinetuneOptions refuses a value.
FLAGS = {
    "rank": "--rank",
    "lora_alpha": "--alpha",
    "lora_dropout": "--dropout",
    "target_modules": "--target-modules",
    "epochs": "--epochs",
    "learning_rate": "--learning-rate",
    "max_length": "--max-length",
    "batch_size": "--batch-size",
    "seed": "--seed",
}
# A progress line at most this often (and always for the last step).
PROGRESS_EVERY_S = 1.0


def finetune(
    data: Annotated[
        Path,
        typer.Argument(
            help='JSONL of examples: {"messages": [...]} chat rows ending with the assistant\'s '
            'reply, or {"prompt": ..., "completion": ...} rows (one format per file).'
        ),
    ],
    base: Annotated[
        str,
        typer.Option(
            "--base",
            help="Base model: a model name of the config, zoo:<family>, a folder or a hub id.",
        ),
    ],
    out: Annotated[Path, typer.Option("--out", help="Folder for the adapter and manifest.")],
    config: Annotated[
        Path | None,
        typer.Option(
            "--config", "-c", help="Cluster config naming --base (default: the embedded one)."
        ),
    ] = None,
    rank: Annotated[int, typer.Option("--rank", help="LoRA rank r.")] = DEFAULTS.rank,
    alpha: Annotated[float, typer.Option("--alpha", help="LoRA alpha.")] = DEFAULTS.lora_alpha,
    dropout: Annotated[
        float, typer.Option("--dropout", help="LoRA dropout.")
    ] = DEFAULTS.lora_dropout,
    target_modules: Annotated[
        str,
        typer.Option("--target-modules", help="Comma-separated module names, or all-linear."),
    ] = "all-linear",
    epochs: Annotated[int, typer.Option("--epochs")] = DEFAULTS.epochs,
    learning_rate: Annotated[float, typer.Option("--learning-rate")] = DEFAULTS.learning_rate,
    max_length: Annotated[
        int, typer.Option("--max-length", help="Tokens per example; longer ones are cut.")
    ] = DEFAULTS.max_length,
    batch_size: Annotated[int, typer.Option("--batch-size")] = DEFAULTS.batch_size,
    seed: Annotated[
        int, typer.Option("--seed", help="Same data, options and seed: same adapter (CPU).")
    ] = DEFAULTS.seed,
    force: Annotated[
        bool, typer.Option("--force", help="Write into a non-empty --out folder.")
    ] = False,
    on_cluster: Annotated[
        bool,
        typer.Option(
            "--on-cluster",
            help="Train as a Ray task on the running cluster (on a GPU if it has one).",
        ),
    ] = False,
) -> None:
    """Fine-tune a LoRA adapter (TRL SFTTrainer + PEFT); the data is checked before any
    model loads."""
    from cluster.finetune import FinetuneError, load_data, resolve_base
    from cluster.finetune.options import parse_target_modules

    options = _options(
        rank=rank,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=parse_target_modules(target_modules),
        epochs=epochs,
        learning_rate=learning_rate,
        max_length=max_length,
        batch_size=batch_size,
        seed=seed,
    )
    _check_out(out, force)
    try:
        training_data = load_data(data)
        base_ref = resolve_base(base, config)
    except FinetuneError as error:
        raise fail(str(error)) from None
    typer.echo(_data_line(training_data))
    source = "" if base_ref.source == base_ref.name else f" ({base_ref.source})"
    typer.echo(f"base: {base_ref.name}{source}")
    try:
        manifest = (
            _train_on_cluster(training_data, base_ref, out, options)
            if on_cluster
            else _train_here(training_data, base_ref, out, options)
        )
    except FinetuneError as error:
        raise fail(str(error)) from None
    for line in _summary_lines(manifest, out):
        typer.echo(line)


def _options(**values: object) -> FinetuneOptions:
    from pydantic import ValidationError

    try:
        return FinetuneOptions.model_validate(values)
    except ValidationError as error:
        problems = [
            f"{FLAGS.get(str(item['loc'][0]), item['loc'][0])}: {item['msg']}"
            for item in error.errors()
        ]
        raise fail("\n".join(problems)) from None


def _check_out(out: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise fail(f"--out {out}: exists and is not a folder")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise fail(f"--out {out}: the folder is not empty (--force writes the adapter into it)")


def _train_here(
    data: TrainingData, base: BaseModelRef, out: Path, options: FinetuneOptions
) -> AdapterManifest:
    from cluster.finetune.trainer import quiet_libraries, train_adapter

    quiet_libraries()
    typer.echo(f"training: {_plan(options)}")
    return train_adapter(data, base, out, options, on_progress=ProgressLines())


def _train_on_cluster(
    data: TrainingData, base: BaseModelRef, out: Path, options: FinetuneOptions
) -> AdapterManifest:
    from cluster.cli.operations import connect_to_cluster
    from cluster.finetune.remote import finetune_on_cluster

    connect_to_cluster()
    typer.echo(f"training on the cluster: {_plan(options)}")
    return finetune_on_cluster(data, base, out, options)


def _plan(options: FinetuneOptions) -> str:
    epochs = f"{options.epochs} epoch" + ("s" if options.epochs != 1 else "")
    return f"LoRA rank {options.rank}, {epochs}, learning rate {options.learning_rate:g}"


class ProgressLines:
    """One line per second of training at most, and the last step's."""

    def __init__(self) -> None:
        self._started = time.monotonic()
        self._printed = float("-inf")

    def __call__(self, progress: TrainingProgress) -> None:
        now = time.monotonic()
        last = progress.step == progress.total_steps
        if not last and now - self._printed < PROGRESS_EVERY_S:
            return
        self._printed = now
        width = len(str(progress.total_steps))
        typer.echo(
            f"  [{now - self._started:5.0f}s] step {progress.step:>{width}}/"
            f"{progress.total_steps}  epoch {progress.epoch:5.2f}  loss {progress.loss:.4f}"
        )


def _data_line(data: TrainingData) -> str:
    from cluster.finetune.data import FORMAT_NAMES

    kind = FORMAT_NAMES[data.format]
    return f"data: {data.path}: {len(data.rows)} {kind} examples (sha256 {data.sha256[:12]})"


def _summary_lines(manifest: AdapterManifest, out: Path) -> list[str]:
    from cluster.finetune import MANIFEST_FILE

    training = manifest.training
    return [
        f"adapter written to {out}",
        f"  loss:     {training.first_epoch_loss:.4f} (first epoch) -> "
        f"{training.final_loss:.4f} (last epoch)",
        f"  trained:  {training.steps} steps in {training.duration_s:.1f} s on {training.device} "
        f"({training.precision})",
        f"  base:     {manifest.base.name} ({manifest.base.path})",
        f"  manifest: {out / MANIFEST_FILE}",
        f"  serve it: models[].lora.adapters: [{{name: {out.name}, path: {out.resolve()}}}]",
    ]
