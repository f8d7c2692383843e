"""What each zoo family is: the architecture it exercises and the real model it stands in for.

Every family shares one small shape (see COMMON_SHAPE) so the whole zoo builds in seconds and a
vLLM engine for any of them starts in the same ~25 s on two CPU cores. The per-family settings
copy the traits of the real model that change the code path vLLM takes (MoE routing, fused
projections, QKV bias, tied embeddings, rope theta), not its size.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from cluster.zoo.judge.recipe import JUDGE_RECIPE
from cluster.zoo.recipes import FineTuneRecipe

# vLLM's CPU attention kernels only accept some head sizes: 16 was rejected on this machine,
# 64 works (PLATFORM.md). 4 heads x 64 = hidden 256; 2 KV heads keep grouped-query attention
# (the real models' layout) in the code path, and 2 KV heads split evenly for TP=2.
COMMON_SHAPE: Mapping[str, Any] = MappingProxyType(
    {
        "hidden_size": 256,
        "intermediate_size": 512,
        "num_hidden_layers": 2,
        "num_attention_heads": 4,
        "num_key_value_heads": 2,
        "max_position_embeddings": 2048,
        # The weights are written in float32: random weights give nearly flat logits, and only
        # float32 keeps greedy output identical across TP=1 and TP=2 (PLATFORM.md).
        "dtype": "float32",
    }
)

HEAD_DIM = 64


def _rope(theta: float) -> dict[str, Any]:
    return {"rope_type": "default", "rope_theta": theta}


# Llama 3.1's "llama3" rope scaling only changes positions beyond 8k; plain rope with its
# theta is the same function inside our 2048-token window.
def _llama_31() -> dict[str, Any]:
    return {"head_dim": HEAD_DIM, "rope_parameters": _rope(5e5)}


@dataclass(frozen=True)
class ZooFamily:
    """One generated checkpoint: a tiny, random-weight model of a real architecture (trained
    afterwards if it names a fine-tune recipe)."""

    name: str
    # The class name vLLM dispatches on (config.json "architectures").
    architecture: str
    # transformers' config key, e.g. "mixtral"; selects the config class.
    model_type: str
    # The Hugging Face model this family replaces in tests and local runs (docs only).
    stands_in_for: str
    # Family-specific config fields, applied over COMMON_SHAPE and the tokenizer's ids.
    config: Mapping[str, Any] = field(default_factory=dict)
    summary: str = ""
    # Trains the random checkpoint for a job once it is written (see recipes.py); part of
    # the spec digest, so a new recipe version rebuilds the family.
    fine_tune: FineTuneRecipe | None = None


FAMILIES: tuple[ZooFamily, ...] = (
    ZooFamily(
        name="tiny-mistral",
        architecture="MistralForCausalLM",
        model_type="mistral",
        stands_in_for="mistralai/Mistral-7B-Instruct-v0.2",
        # v0.2 dropped Mistral's sliding window and raised rope theta to 1e6.
        config={"head_dim": HEAD_DIM, "sliding_window": None, "rope_parameters": _rope(1e6)},
        summary="dense GQA decoder",
    ),
    ZooFamily(
        name="tiny-mixtral",
        architecture="MixtralForCausalLM",
        model_type="mixtral",
        stands_in_for="mistralai/Mixtral-8x7B-Instruct-v0.1",
        # 4 experts instead of 8 keep the file small while top-2 routing still has to choose.
        config={
            "head_dim": HEAD_DIM,
            "num_local_experts": 4,
            "num_experts_per_tok": 2,
            "sliding_window": None,
            "rope_parameters": _rope(1e6),
        },
        summary="sparse MoE, 4 experts, top-2",
    ),
    ZooFamily(
        name="tiny-qwen2",
        architecture="Qwen2ForCausalLM",
        model_type="qwen2",
        stands_in_for="Qwen/Qwen2.5-7B-Instruct",
        # Qwen2 always has biases on q/k/v; its sliding window is off in the real configs.
        config={
            "head_dim": HEAD_DIM,
            "use_sliding_window": False,
            "sliding_window": None,
            "rope_parameters": _rope(1e6),
        },
        summary="dense GQA decoder with QKV bias",
    ),
    ZooFamily(
        name="tiny-phi3",
        architecture="Phi3ForCausalLM",
        model_type="phi3",
        stands_in_for="microsoft/Phi-3-mini-4k-instruct",
        # Phi-3 has no head_dim field (it is hidden / heads = 64 here) and fuses qkv_proj and
        # gate_up_proj in the checkpoint. Its real 2047-token sliding window would only matter
        # past max_model_len, so it is left off.
        config={
            "original_max_position_embeddings": COMMON_SHAPE["max_position_embeddings"],
            "sliding_window": None,
            "rope_parameters": _rope(1e4),
        },
        summary="dense decoder with fused QKV and gate/up projections",
    ),
    ZooFamily(
        name="tiny-llama",
        architecture="LlamaForCausalLM",
        model_type="llama",
        stands_in_for="meta-llama/Llama-3.1-8B-Instruct",
        config=_llama_31(),
        summary="dense GQA decoder",
    ),
    ZooFamily(
        name="tiny-llama-guard",
        architecture="LlamaForCausalLM",
        model_type="llama",
        stands_in_for="meta-llama/Llama-Guard-3-8B",
        # Llama Guard 3 is a Llama 3.1 8B fine-tuned to classify; the judge guard check asks
        # it with Llama Guard's own prompt. The build fine-tunes this one on a labelled set
        # of such prompts (cluster/zoo/judge), so that its verdicts are mostly right.
        config=_llama_31(),
        summary="dense GQA decoder, the guardrails' safety judge (fine-tuned)",
        fine_tune=JUDGE_RECIPE,
    ),
    ZooFamily(
        name="tiny-gemma",
        architecture="GemmaForCausalLM",
        model_type="gemma",
        stands_in_for="google/gemma-7b-it",
        # Gemma ties the output head to the embeddings and uses tanh-approximated GELU.
        # Gemma 2 also loads and generates in vLLM 0.29's CPU build, but with random weights
        # its extra post-norms leave the tied, sqrt(hidden)-scaled embeddings dominating the
        # residual stream and greedy output only repeats the prompt's last token; Gemma 1
        # gives varied text, which is what tests need.
        config={
            "head_dim": HEAD_DIM,
            "hidden_act": "gelu_pytorch_tanh",
            "tie_word_embeddings": True,
            "rope_parameters": _rope(1e4),
        },
        summary="dense decoder, tied embeddings, GeGLU",
    ),
)

FAMILY_NAMES: tuple[str, ...] = tuple(family.name for family in FAMILIES)


def get_family(name: str) -> ZooFamily:
    """Look a family up by name; the error lists the valid names to fix a typo quickly."""
    for family in FAMILIES:
        if family.name == name:
            return family
    raise KeyError(f"unknown zoo family {name!r}; known: {', '.join(FAMILY_NAMES)}")
