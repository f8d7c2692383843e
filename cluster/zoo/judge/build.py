"""Fine-tune the judge during the zoo build: LoRA on the labelled set, merged into the weights.

The merged checkpoint keeps the prepared one's tensor names, shapes, dtype and safetensors
metadata, so vLLM serves the judge as the plain model it was; judge-eval.json records its
held-out accuracy beside it. Everything written is a function of the folder's bytes, the
seed and the recipe: the build stays byte-for-byte reproducible on one machine.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import torch
from safetensors.torch import save_file

from cluster.finetune import BaseModelRef, FinetuneOptions, load_data
from cluster.finetune.manifest import TrainingInfo
from cluster.zoo.judge.dataset import everyday_examples, judge_rows, judge_set
from cluster.zoo.judge.evaluate import EVAL_FILE, JudgeEval, evaluate
from cluster.zoo.judge.prepare import (
    SAFETENSORS_METADATA,
    WEIGHTS_FILE,
    prepare_base,
    read_tensors,
)
from cluster.zoo.judge.quiet import quiet
from cluster.zoo.recipes import FineTuneRecipe
from cluster.zoo.weights import derive_seed

# FinetuneOptions.seed is 32-bit.
_SEED_MASK = (1 << 32) - 1


def training_seed(seed: int) -> int:
    """The fine-tune's seed for a zoo seed: stable, and apart from the weights' own seeds."""
    return derive_seed("llm-fleet-zoo-judge", seed) & _SEED_MASK


def fine_tune_judge(folder: Path, seed: int, recipe: FineTuneRecipe) -> None:
    """Train `folder`'s random checkpoint into a judge in place; write judge-eval.json."""
    options = FinetuneOptions.model_validate({**recipe.options, "seed": training_seed(seed)})
    prepare_base(folder, seed)
    training = train_merged(folder, options)
    write_eval(
        folder,
        recipe,
        training,
        evaluate(folder, judge_set().held_out),
        evaluate(folder, everyday_examples()),
    )


def train_merged(
    folder: Path, options: FinetuneOptions, rows: list[dict[str, str]] | None = None
) -> TrainingInfo:
    """LoRA-train the checkpoint in `folder` on `rows` (default: the training split) and
    overwrite its weights with the merged result. Returns what the training recorded."""
    from cluster.finetune import train_adapter

    folder = Path(folder).resolve()
    rows = judge_rows("train") if rows is None else rows
    with tempfile.TemporaryDirectory(prefix="fleet-zoo-judge-") as scratch, quiet():
        data_path = Path(scratch) / "judge-train.jsonl"
        data_path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
        base = BaseModelRef(name=folder.name, source=str(folder))
        adapter = Path(scratch) / "adapter"
        manifest = train_adapter(load_data(data_path), base, adapter, options)
        merged = _merged_tensors(folder, adapter, Path(scratch) / "merged")
    weights = folder / WEIGHTS_FILE
    _check_layout(read_tensors(weights), merged)
    save_file(merged, str(weights), metadata=SAFETENSORS_METADATA)
    return manifest.training


def write_eval(
    folder: Path,
    recipe: FineTuneRecipe,
    training: TrainingInfo,
    held_out: JudgeEval,
    everyday: JudgeEval,
) -> Path:
    record: dict[str, Any] = {
        "recipe": {"name": recipe.name, "version": recipe.version},
        "train": {
            "rows": len(judge_set().train),
            "steps": training.steps,
            "epoch_losses": training.epoch_losses,
        },
        "held_out": held_out.as_dict(),
        "everyday": everyday.false_alarms(),
    }
    path = folder / EVAL_FILE
    # Sorted keys and a fixed layout: the file is part of the byte-identical build.
    path.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path


def _merged_tensors(folder: Path, adapter: Path, scratch: Path) -> dict[str, torch.Tensor]:
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(folder, dtype=torch.float32, local_files_only=True)
    merged = PeftModel.from_pretrained(model, adapter).merge_and_unload()
    # Written by transformers, read back: the on-disk layout vLLM loads (see
    # builder._checkpoint_tensors), not the in-memory one.
    merged.save_pretrained(scratch)
    return {
        name: tensor.to(torch.float32).contiguous()
        for name, tensor in read_tensors(scratch / WEIGHTS_FILE).items()
    }


def _check_layout(before: dict[str, torch.Tensor], after: dict[str, torch.Tensor]) -> None:
    """The merge must not rename, add, drop or reshape a tensor: vLLM loads by name."""
    old = {name: tuple(tensor.shape) for name, tensor in before.items()}
    new = {name: tuple(tensor.shape) for name, tensor in after.items()}
    if old != new:
        changed = sorted(set(old.items()) ^ set(new.items()))
        raise RuntimeError(f"the merged judge changed the checkpoint layout: {changed[:5]}")
