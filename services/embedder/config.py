"""The ``embedder`` section of a cluster config: the sentence-embedding deployment."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Precision = Literal["auto", "float32", "bfloat16"]
Backend = Literal["onnx-int8", "torch"]


class EmbedderConfig(BaseModel):
    """The sentence-embedding deployment that semantic routes (and guardrails) call."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    replicas: Annotated[int, Field(ge=1)] = 1
    """Embedder replicas; each holds its own copy of the model (90 MB of float32 weights)."""
    num_cpus: Annotated[float, Field(ge=0)] = 0
    """Logical CPUs one replica reserves in Ray. 0 so it never waits for a CPU an engine
    holds; its real CPU use is bounded by ``threads``."""
    max_ongoing_requests: Annotated[int, Field(ge=1)] = 128
    """Calls one replica takes at once before Ray Serve queues at the caller; at least
    ``max_batch_size``, or batches never fill."""
    threads: Annotated[int, Field(ge=1, le=64)] = 1
    """Intra-op threads per replica. One leaves the other cores to the engines: on a 2-core
    box with other work running, 2 threads pushed p99 from 30 ms to about 1 s. Give more
    where the embedder has cores of its own."""
    backend: Backend = "onnx-int8"
    """``onnx-int8``: the int8 ONNX export on onnxruntime, about twice as fast on a CPU,
    cosine 0.99 to the original vectors. ``torch``: the original model, in ``precision``."""
    precision: Precision = "auto"
    """Weights' dtype of the ``torch`` backend. ``auto`` takes bfloat16 where the CPU has
    native bf16 instructions (AVX512-BF16 or AMX: 1.8 times as fast as float32 here, cosine
    to its vectors above 0.9999), else float32."""
    max_batch_size: Annotated[int, Field(ge=1, le=256)] = 16
    """Concurrent calls run through the model together (each call may hold many texts)."""
    batch_wait_timeout_s: Annotated[float, Field(ge=0, le=1)] = 0.0
    """How long a call waits for others to join its batch. 0: a batch takes the calls that
    queued while the previous one ran, and a lone call is never held back."""

    @model_validator(mode="after")
    def _batches_can_fill(self) -> EmbedderConfig:
        if self.max_ongoing_requests < self.max_batch_size:
            raise ValueError(
                f"max_ongoing_requests ({self.max_ongoing_requests}) is below max_batch_size "
                f"({self.max_batch_size}): a replica would never see a full batch"
            )
        return self
