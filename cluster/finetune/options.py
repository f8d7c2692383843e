"""The hyper-parameters of one fine-tune, checked before anything loads."""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

ALL_LINEAR = "all-linear"
MODULE_NAME_PATTERN = r"^[A-Za-z_][A-Za-z0-9_.]*$"


class FinetuneOptions(BaseModel):
    """LoRA and training settings. The defaults are the usual LoRA starting point for a
    real model; on the tiny zoo checkpoints they run in a few seconds."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    rank: Annotated[int, Field(ge=1, le=512)] = 8
    """LoRA rank r. The serving model's ``lora.max_rank`` must be at least this."""
    lora_alpha: Annotated[float, Field(gt=0, le=4096)] = 16
    """LoRA scaling numerator: the update is scaled by lora_alpha / rank."""
    lora_dropout: Annotated[float, Field(ge=0, lt=1)] = 0.05
    target_modules: Literal["all-linear"] | tuple[str, ...] = ALL_LINEAR
    """Module names to adapt (e.g. ``("q_proj", "v_proj")``), or ``all-linear``: every
    linear layer but the output head, whatever the architecture calls them."""
    epochs: Annotated[int, Field(ge=1, le=1000)] = 3
    learning_rate: Annotated[float, Field(gt=0, le=1)] = 2e-4
    max_length: Annotated[int, Field(ge=8, le=1_048_576)] = 1024
    """Tokens per example; longer ones are cut at the end."""
    batch_size: Annotated[int, Field(ge=1, le=4096)] = 4
    """Examples per optimizer step (per device)."""
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 0
    """Seeds the adapter's initial weights, dropout and the example order."""

    @field_validator("target_modules")
    @classmethod
    def _module_names(cls, value: str | tuple[str, ...]) -> str | tuple[str, ...]:
        if isinstance(value, str):
            return value
        if not value:
            raise ValueError(f"name at least one module, or {ALL_LINEAR}")
        bad = [name for name in value if not re.fullmatch(MODULE_NAME_PATTERN, name)]
        if bad:
            raise ValueError(f"not module names: {', '.join(map(repr, bad))}")
        if len(set(value)) != len(value):
            raise ValueError("a module is named twice")
        return value


def parse_target_modules(text: str) -> str | tuple[str, ...]:
    """``q_proj,v_proj`` -> ("q_proj", "v_proj"); ``all-linear`` stays as it is."""
    if text.strip() == ALL_LINEAR:
        return ALL_LINEAR
    return tuple(part.strip() for part in text.split(",") if part.strip())
