"""fleet-adapter.json: what an adapter folder was trained from, how, and how well.

Written beside PEFT's adapter_config.json and adapter_model.safetensors. Registering the
adapter in a cluster config can check it against the serving model (same base, rank within
``lora.max_rank``), and anyone can tell which data and settings produced it.
"""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from cluster.finetune.data import DataFormat
from cluster.finetune.errors import ManifestError
from cluster.finetune.options import FinetuneOptions

MANIFEST_FILE = "fleet-adapter.json"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")
# Bump when a field changes meaning; readers refuse versions they do not know.
MANIFEST_VERSION = 1


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BaseModelInfo(_Strict):
    name: str
    """As given to ``--base``: a config model name, ``zoo:<family>``, a folder or a hub id."""
    source: str
    """What that name stood for: ``zoo:<family>``, a local folder or a hub id."""
    path: str
    """Where the weights were loaded from on the machine that trained."""
    architecture: str | None = None
    """config.json's model class, e.g. Qwen2ForCausalLM (None for a hub id not on disk)."""


class DataInfo(_Strict):
    file: str
    """The training file's name (not its folder, which says nothing on another machine)."""
    sha256: Annotated[str, Field(pattern=r"^[0-9a-f]{64}$")]
    rows: Annotated[int, Field(ge=1)]
    format: DataFormat


class TrainingInfo(_Strict):
    steps: Annotated[int, Field(ge=1)]
    first_epoch_loss: float
    """Mean training loss over the first epoch."""
    final_loss: float
    """Mean training loss over the last epoch."""
    epoch_losses: Annotated[list[float], Field(min_length=1)]
    """Mean training loss of each epoch, in order."""
    duration_s: Annotated[float, Field(ge=0)]
    """The training loop alone, without loading the model."""
    device: str
    """``cpu`` or ``cuda (<GPU name>)``."""
    precision: Literal["float32", "bfloat16", "float16"]

    @model_validator(mode="after")
    def _losses_agree(self) -> TrainingInfo:
        if (self.first_epoch_loss, self.final_loss) != (
            self.epoch_losses[0],
            self.epoch_losses[-1],
        ):
            raise ValueError("first_epoch_loss and final_loss must be epoch_losses' ends")
        return self


class AdapterManifest(_Strict):
    """The manifest of one ``fleet finetune`` adapter folder."""

    manifest_version: Literal[1] = MANIFEST_VERSION
    kind: Literal["lora"] = "lora"
    created_at: datetime.datetime
    base: BaseModelInfo
    data: DataInfo
    options: FinetuneOptions
    training: TrainingInfo
    versions: dict[str, str]
    """trl, peft, transformers and torch as installed where it trained."""

    @property
    def rank(self) -> int:
        return self.options.rank

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_FILE
        path.write_text(self.model_dump_json(indent=2) + "\n", encoding="utf-8")
        return path


def load_manifest(folder: Path) -> AdapterManifest:
    """The manifest of the adapter in ``folder``; ManifestError names the file and field."""
    path = folder / MANIFEST_FILE
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ManifestError(
            f"{path}: cannot read ({error.strerror or error}); is {folder} an adapter folder "
            "written by `fleet finetune`?"
        ) from None
    try:
        return AdapterManifest.model_validate_json(text)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or "(top level)"
        more = f" (and {error.error_count() - 1} more)" if error.error_count() > 1 else ""
        raise ManifestError(f"{path}: {field}: {first['msg']}{more}") from None
