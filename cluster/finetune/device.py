"""Where a fine-tune runs and in which precision: the first CUDA GPU in bfloat16 (float16
where the GPU lacks it), else the CPU in float32."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Precision = Literal["float32", "bfloat16", "float16"]


@dataclass(frozen=True)
class Device:
    name: str
    """``cpu`` or ``cuda (<GPU name>)``, as the manifest records it."""
    precision: Precision

    @property
    def is_cpu(self) -> bool:
        return self.name == "cpu"

    def trainer_arguments(self) -> dict[str, Any]:
        """The TrainingArguments that put training on this device."""
        return {
            "use_cpu": self.is_cpu,
            # TRL turns bf16 on unless told otherwise, on the CPU too: say it either way.
            "bf16": self.precision == "bfloat16",
            "fp16": self.precision == "float16",
            # Deterministic kernels cost nothing measurable on the CPU, and make the same
            # data + seed give the same adapter bytes. On a GPU they need
            # CUDA_LAUNCH_BLOCKING for the whole process: not worth it for a fine-tune.
            "full_determinism": self.is_cpu,
            # Recomputing activations saves GPU memory on real models; the CPU has memory
            # to spare and no time to spare.
            "activation_checkpointing": not self.is_cpu,
        }


def pick_device() -> Device:
    import torch

    if not torch.cuda.is_available():
        return Device("cpu", "float32")
    precision: Precision = "bfloat16" if torch.cuda.is_bf16_supported() else "float16"
    return Device(f"cuda ({torch.cuda.get_device_name(0)})", precision)
