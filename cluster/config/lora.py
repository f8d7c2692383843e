"""LoRA adapters served beside their base model: the engine's limits and the adapters.

The limits shape the engine (vLLM reserves room for ``max_adapters_per_batch`` adapters of
rank ``max_rank``), so changing them restarts the model; the adapter list is live (the
model's replicas load and unload adapters on a Ray Serve reconfigure, the router learns
the names from its own user_config).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

# Callers address an adapter as "<base model>:<adapter>".
ADAPTER_SEPARATOR = ":"
ADAPTER_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$"
# Where Ray Serve LLM's LoRA loader downloads from; anything else is a local folder.
REMOTE_ADAPTER_PREFIXES = ("s3://", "gs://", "abfss://", "azure://")

# The ranks vLLM's LoRA kernels are built for (vllm.config.lora.MaxLoRARanks).
MaxRank = Literal[1, 8, 16, 32, 64, 128, 256, 320, 512]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AdapterConfig(_Strict):
    """One LoRA adapter of a model, e.g. the output folder of ``fleet finetune``."""

    name: Annotated[str, Field(pattern=ADAPTER_NAME_PATTERN)]
    """Callers name it ``<model>:<name>`` (or through a route)."""
    path: Annotated[str, Field(min_length=1)]
    """A folder on every node that hosts the model, or a cloud URI (s3://, gs://,
    abfss://, azure://) that the replicas download once."""
    description: str = ""

    @property
    def is_remote(self) -> bool:
        return self.path.startswith(REMOTE_ADAPTER_PREFIXES)


class LoraConfig(_Strict):
    """vLLM's multi-LoRA for one model; set it before the first adapter, since it is an
    engine setting (a change restarts the model) while adapters come and go live."""

    max_rank: MaxRank = 16
    """The largest adapter rank the engine accepts."""
    max_adapters_per_batch: Annotated[int, Field(ge=1, le=64)] = 4
    """Adapters one engine step may mix (vLLM's max_loras: memory reserved on the GPU)."""
    max_adapters_per_replica: Annotated[int, Field(ge=1, le=1024)] = 16
    """Adapters a replica keeps loaded before it drops the least recently used (vLLM's
    max_cpu_loras and Ray Serve's multiplexing limit)."""
    adapters: list[AdapterConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _limits_fit(self) -> LoraConfig:
        if self.max_adapters_per_replica < self.max_adapters_per_batch:
            raise ValueError(
                f"max_adapters_per_replica ({self.max_adapters_per_replica}) is below "
                f"max_adapters_per_batch ({self.max_adapters_per_batch})"
            )
        names = [adapter.name for adapter in self.adapters]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"adapters: names used twice: {', '.join(repeated)}")
        return self


def adapter_model_name(model: str, adapter: str) -> str:
    """The name callers put in ``model`` for an adapter of ``model``."""
    return f"{model}{ADAPTER_SEPARATOR}{adapter}"
