"""Train a LoRA adapter with TRL's SFTTrainer: the one module that drives trl, peft and
transformers' training API, so that an upgrade of theirs breaks one file."""

from __future__ import annotations

import datetime
import importlib.metadata
import os
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from statistics import fmean
from typing import Any

from transformers import AutoModelForCausalLM, AutoTokenizer, TrainerCallback

from cluster.finetune.base import BaseModelRef, architecture, resolve_base
from cluster.finetune.data import TrainingData, check_prompt_lengths, load_data, trl_rows
from cluster.finetune.device import Device, pick_device
from cluster.finetune.errors import FinetuneError
from cluster.finetune.manifest import (
    AdapterManifest,
    BaseModelInfo,
    DataInfo,
    TrainingInfo,
)
from cluster.finetune.options import FinetuneOptions

VERSIONED = ("trl", "peft", "transformers", "torch")
# What transformers' full determinism changes for the whole process; put back after training
# so that a test run or a reused Ray worker is left as it was found. Warning filters too.
_DETERMINISM_ENV = (
    "CUDA_LAUNCH_BLOCKING",
    "CUBLAS_WORKSPACE_CONFIG",
    "ASCEND_LAUNCH_BLOCKING",
    "HCCL_DETERMINISTIC",
    "FLASH_ATTENTION_DETERMINISTIC",
)


@dataclass(frozen=True)
class TrainingProgress:
    step: int
    total_steps: int
    epoch: float
    loss: float
    """This step's training loss."""


ProgressCallback = Callable[[TrainingProgress], None]


def finetune(
    data_path: Path,
    base: BaseModelRef | str,
    out_dir: Path,
    options: FinetuneOptions | None = None,
    on_progress: ProgressCallback | None = None,
) -> AdapterManifest:
    """Validate ``data_path``, train a LoRA adapter of ``base`` on it, write the adapter and
    its manifest to ``out_dir``. A str ``base`` is resolved as ``--base`` is."""
    data = load_data(data_path)
    ref = base if isinstance(base, BaseModelRef) else resolve_base(base)
    return train_adapter(data, ref, out_dir, options or FinetuneOptions(), on_progress)


def train_adapter(
    data: TrainingData,
    base: BaseModelRef,
    out_dir: Path,
    options: FinetuneOptions,
    on_progress: ProgressCallback | None = None,
) -> AdapterManifest:
    """Train on already validated ``data``; the tokenizer loads (and the rows are checked
    against max_length) before the model does."""
    location = base.locate()
    tokenizer = _load(AutoTokenizer, base, location)
    check_prompt_lengths(data, tokenizer, options.max_length)
    device = pick_device()
    model = _load(AutoModelForCausalLM, base, location, dtype=_torch_dtype(device))
    recorder = _LossRecorder(on_progress)
    with tempfile.TemporaryDirectory(prefix="fleet-finetune-") as scratch, _restored_globals():
        trainer = _sft_trainer(model, tokenizer, data, options, device, scratch, recorder)
        started = time.monotonic()
        steps = trainer.train().global_step
        duration = time.monotonic() - started
        out_dir.mkdir(parents=True, exist_ok=True)
        trainer.model.save_pretrained(str(out_dir))
    training = TrainingInfo(
        steps=steps,
        first_epoch_loss=recorder.epoch_losses[0],
        final_loss=recorder.epoch_losses[-1],
        epoch_losses=recorder.epoch_losses,
        duration_s=round(duration, 3),
        device=device.name,
        precision=device.precision,
    )
    manifest = _manifest(data, base, location, options, training)
    manifest.write(out_dir)
    return manifest


def _sft_trainer(
    model: Any,
    tokenizer: Any,
    data: TrainingData,
    options: FinetuneOptions,
    device: Device,
    scratch: str,
    recorder: _LossRecorder,
) -> Any:
    from datasets import Dataset
    from peft import LoraConfig
    from peft.utils.error import NoMatchingPeftModuleError
    from transformers.trainer_callback import PrinterCallback
    from trl import SFTConfig, SFTTrainer

    config = SFTConfig(
        output_dir=scratch,
        num_train_epochs=options.epochs,
        learning_rate=options.learning_rate,
        per_device_train_batch_size=options.batch_size,
        max_length=options.max_length,
        seed=options.seed,
        data_seed=options.seed,
        completion_only_loss=True,
        logging_steps=1,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        **device.trainer_arguments(),
    )
    lora = LoraConfig(
        r=options.rank,
        lora_alpha=options.lora_alpha,
        lora_dropout=options.lora_dropout,
        target_modules=_targets(options),
        bias="none",
        task_type="CAUSAL_LM",
    )
    try:
        trainer = SFTTrainer(
            model=model,
            args=config,
            train_dataset=Dataset.from_list(trl_rows(data)),
            processing_class=tokenizer,
            peft_config=lora,
            callbacks=[recorder],
        )
    except NoMatchingPeftModuleError as error:
        raise FinetuneError(f"--target-modules: {error}") from None
    # With tqdm off, transformers prints every log dict to stdout; on_progress reports instead.
    trainer.remove_callback(PrinterCallback)
    return trainer


def _manifest(
    data: TrainingData,
    base: BaseModelRef,
    location: str,
    options: FinetuneOptions,
    training: TrainingInfo,
) -> AdapterManifest:
    return AdapterManifest(
        created_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
        base=BaseModelInfo(
            name=base.name,
            source=base.source,
            path=location,
            architecture=architecture(location) if base.is_local else None,
        ),
        data=DataInfo(
            file=data.path.name, sha256=data.sha256, rows=len(data.rows), format=data.format
        ),
        options=options,
        training=training,
        versions={name: importlib.metadata.version(name) for name in VERSIONED},
    )


def quiet_libraries() -> None:
    """Silence the libraries' own progress bars and notices: ``on_progress`` reports
    training, and a CLI should print its lines only (process-wide)."""
    import datasets
    import transformers

    transformers.utils.logging.set_verbosity_error()
    transformers.utils.logging.disable_progress_bar()
    datasets.disable_progress_bars()
    datasets.utils.logging.set_verbosity_error()


class _LossRecorder(TrainerCallback):
    """Per-step losses to ``on_progress``, and each epoch's mean for the manifest."""

    def __init__(self, on_progress: ProgressCallback | None) -> None:
        self.on_progress = on_progress
        self.epoch_losses: list[float] = []
        self._epoch: list[float] = []

    def on_log(self, args: Any, state: Any, control: Any, logs: Any = None, **_: Any) -> None:
        if not logs or "loss" not in logs:
            return
        loss = float(logs["loss"])
        self._epoch.append(loss)
        if self.on_progress is not None:
            epoch = float(state.epoch or 0.0)
            self.on_progress(TrainingProgress(state.global_step, state.max_steps, epoch, loss))

    def on_epoch_end(self, args: Any, state: Any, control: Any, **_: Any) -> None:
        if self._epoch:
            self.epoch_losses.append(round(fmean(self._epoch), 6))
            self._epoch = []


def _load(loader: Any, base: BaseModelRef, location: str, **kwargs: Any) -> Any:
    try:
        # A local folder never needs the hub; a hub id may download where the hub is
        # reachable (HF_HUB_OFFLINE=1 makes it fail fast where it is not).
        return loader.from_pretrained(location, local_files_only=base.is_local, **kwargs)
    except (OSError, ValueError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        raise FinetuneError(
            f"base model {base.name!r}: cannot load {location}: {first_line}"
        ) from None


def _targets(options: FinetuneOptions) -> str | list[str]:
    targets = options.target_modules
    return targets if isinstance(targets, str) else list(targets)


def _torch_dtype(device: Device) -> Any:
    import torch

    return getattr(torch, device.precision)


@contextmanager
def _restored_globals() -> Iterator[None]:
    import torch

    env = {name: os.environ.get(name) for name in _DETERMINISM_ENV}
    deterministic = torch.are_deterministic_algorithms_enabled()
    warn_only = torch.is_deterministic_algorithms_warn_only_enabled()
    cudnn = (torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    try:
        with warnings.catch_warnings():
            # PEFT reads transformers' deprecated alias; nothing a caller can change.
            warnings.filterwarnings("ignore", ".*is_gradient_checkpointing", FutureWarning)
            yield
    finally:
        torch.use_deterministic_algorithms(deterministic, warn_only=warn_only)
        torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = cudnn
        for name, value in env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
