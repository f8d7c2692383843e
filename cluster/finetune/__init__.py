"""`fleet finetune`: LoRA adapters trained with TRL's SFTTrainer from a JSONL of examples.

Importing this package is cheap (data checks, options, manifest); torch, transformers, trl
and peft load on first use of ``finetune`` or ``train_adapter``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cluster.finetune.base import BaseModelRef, resolve_base
from cluster.finetune.data import TrainingData, load_data, trl_rows
from cluster.finetune.errors import FinetuneDataError, FinetuneError, ManifestError
from cluster.finetune.manifest import MANIFEST_FILE, AdapterManifest, load_manifest
from cluster.finetune.options import FinetuneOptions

if TYPE_CHECKING:
    from cluster.finetune.trainer import TrainingProgress, finetune, train_adapter

_TRAINER_NAMES = ("TrainingProgress", "finetune", "train_adapter")


def __getattr__(name: str) -> Any:
    # The trainer pulls in torch, transformers, trl and peft (~4 s); only pay when training.
    if name in _TRAINER_NAMES:
        from cluster.finetune import trainer

        return getattr(trainer, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "MANIFEST_FILE",
    "AdapterManifest",
    "BaseModelRef",
    "FinetuneDataError",
    "FinetuneError",
    "FinetuneOptions",
    "ManifestError",
    "TrainingData",
    "TrainingProgress",
    "finetune",
    "load_data",
    "load_manifest",
    "resolve_base",
    "train_adapter",
    "trl_rows",
]
