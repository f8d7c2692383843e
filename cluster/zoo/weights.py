"""Deterministic random weights.

Each tensor gets its own generator, seeded from the family seed and the tensor's checkpoint
name. That makes a tensor's values independent of how transformers orders, fuses or
initialises parameters internally, so a transformers upgrade that only reshuffles modules
cannot silently change the zoo.
"""

from __future__ import annotations

import hashlib

import torch

# Ten times transformers' initializer_range (0.02). Measured on the zoo: at 0.02 greedy
# output collapses into one repeated token (tiny-gemma, whose tied and sqrt(hidden)-scaled
# embeddings dominate the residual stream, only ever echoes the prompt's last token), so
# tests could not tell prompts apart. At 0.2 every family gives ~30 distinct tokens in 32
# and logits spread with std ~3, which also widens the top-1/top-2 gaps that greedy TP=1 vs
# TP=2 comparisons depend on.
WEIGHT_STD = 0.2

# Keeps seeds inside the range every torch generator accepts.
_SEED_MASK = (1 << 63) - 1


def derive_seed(*parts: str | int) -> int:
    """A stable 63-bit seed from its parts.

    Python's hash() is salted per process (PYTHONHASHSEED), so it would give every run
    different weights; sha256 of the parts does not.
    """
    text = "\x1f".join(str(part) for part in parts)
    digest = hashlib.sha256(text.encode("utf-8")).digest()
    return int.from_bytes(digest[:8], "little") & _SEED_MASK


def _is_constant_vector(tensor: torch.Tensor) -> bool:
    return tensor.ndim == 1 and bool(torch.all(tensor == tensor[0]))


def randomise(tensors: dict[str, torch.Tensor], seed: int) -> dict[str, torch.Tensor]:
    """Replace every weight matrix with seeded N(0, WEIGHT_STD) values, float32, contiguous.

    Norm scales and biases that transformers initialises to a constant (ones, or zeros for
    Gemma's 1 + w norms and Qwen2's q/k/v biases) keep that constant: randomising a norm
    scale around zero would zero out the residual stream instead of testing anything.
    """
    result: dict[str, torch.Tensor] = {}
    for name in sorted(tensors):
        tensor = tensors[name]
        if _is_constant_vector(tensor):
            result[name] = tensor.to(torch.float32).contiguous().clone()
            continue
        generator = torch.Generator().manual_seed(derive_seed(seed, name))
        values = torch.randn(tensor.shape, generator=generator, dtype=torch.float32)
        result[name] = (values * WEIGHT_STD).contiguous()
    return result


def mute_output_rows(head: torch.Tensor, token_ids: list[int]) -> torch.Tensor:
    """Zero the output-head rows of `token_ids`, so the model never predicts those tokens.

    Used for the special tokens: their logit is then exactly 0 while the best ordinary
    token's sits near +10, so greedy and low-temperature generation never emits chat markup
    or end-of-sequence and always runs to max_tokens. With random rows, some prompts ended
    early on <|im_end|>, which made output lengths differ from family to family for no reason
    a test could rely on.
    """
    muted = head.clone()
    muted[token_ids] = 0.0
    return muted
