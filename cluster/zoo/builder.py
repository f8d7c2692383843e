"""Write one family's checkpoint: config, weights, generation config and tokenizer files.

The output must be byte-for-byte reproducible from (family, seed, builder version): tests
compare engines across processes and machines, and the manifest's hashes are how a later
run knows a folder is already complete.
"""

from __future__ import annotations

import copy
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file
from transformers import (
    AutoConfig,
    AutoModelForCausalLM,
    GenerationConfig,
    PretrainedConfig,
    PreTrainedTokenizerFast,
)
from transformers.utils import logging as transformers_logging

from cluster.zoo.families import COMMON_SHAPE, ZooFamily
from cluster.zoo.recipes import run_recipe
from cluster.zoo.tokenizer import SPECIAL_TOKENS, build_tokenizer
from cluster.zoo.weights import derive_seed, mute_output_rows, randomise

WEIGHTS_FILE = "model.safetensors"

# Where the output projection lives: its own matrix, or the embeddings when they are tied.
_HEAD_TENSOR = "lm_head.weight"
_EMBEDDING_TENSOR = "model.embed_tokens.weight"

# Pinned metadata: the same header on every build, and the "pt" format tag transformers
# and vLLM both expect of a PyTorch safetensors checkpoint.
_SAFETENSORS_METADATA = {"format": "pt"}

# Namespaces the zoo seed so the same integer elsewhere in the project gives other values.
_SEED_NAMESPACE = "llm-fleet-zoo"


def family_seed(family: ZooFamily, seed: int) -> int:
    """The family's weight seed: stable across processes and independent of family order."""
    return derive_seed(_SEED_NAMESPACE, seed, family.name)


def make_config(family: ZooFamily, tokenizer: PreTrainedTokenizerFast) -> PretrainedConfig:
    """The family's transformers config, sized to the shared tokenizer."""
    fields = {
        **COMMON_SHAPE,
        "architectures": [family.architecture],
        "vocab_size": len(tokenizer),
        # Set every special id explicitly: the defaults point at the real vocabularies
        # (Phi-3's pad_token_id=32000 is out of range here and breaks loading).
        "bos_token_id": tokenizer.bos_token_id,
        "eos_token_id": tokenizer.eos_token_id,
        "pad_token_id": tokenizer.pad_token_id,
        "tie_word_embeddings": False,
        # A deep copy: config classes edit nested values in place (Phi-3 adds
        # partial_rotary_factor to rope_parameters), which would change the spec, and with it
        # the spec digest, after the first build in a process.
        **copy.deepcopy(dict(family.config)),
    }
    return AutoConfig.for_model(family.model_type, **fields)


@contextmanager
def _no_progress_bars() -> Iterator[None]:
    # save_pretrained draws a "Writing model shards" bar on stderr for a file nobody keeps;
    # `fleet zoo build --quiet` (run by every `make setup`) must print nothing.
    was_enabled = transformers_logging.is_progress_bar_enabled()
    transformers_logging.disable_progress_bar()
    try:
        yield
    finally:
        if was_enabled:
            transformers_logging.enable_progress_bar()


def _checkpoint_tensors(config: PretrainedConfig) -> dict[str, torch.Tensor]:
    """Tensor names and shapes exactly as transformers writes the architecture to disk.

    Saving a throwaway model is the reliable way to learn the on-disk layout: transformers
    5 keeps e.g. Mixtral experts fused in memory but writes them per expert, which is the
    layout vLLM's loaders expect. The model's own random init is thrown away by randomise(),
    so the global torch RNG is neither needed nor touched.
    """
    model = AutoModelForCausalLM.from_config(config, dtype=torch.float32)
    with tempfile.TemporaryDirectory(prefix="fleet-zoo-") as scratch, _no_progress_bars():
        model.save_pretrained(scratch)
        with safe_open(str(Path(scratch) / WEIGHTS_FILE), framework="pt") as reader:
            return {name: reader.get_tensor(name) for name in reader.keys()}  # noqa: SIM118


def _generation_config(tokenizer: PreTrainedTokenizerFast) -> GenerationConfig:
    # No sampling defaults: vLLM applies generation_config.json values as request defaults,
    # and the tests want vLLM's own (they pass temperature=0 for greedy output).
    return GenerationConfig(
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )


def build_model(
    spec: ZooFamily,
    out_dir: Path,
    seed: int,
    *,
    tokenizer: PreTrainedTokenizerFast | None = None,
) -> list[Path]:
    """Write the checkpoint of `spec` into `out_dir` and return its files, sorted.

    `out_dir` is created if needed and should be empty: every file in it is returned.

    `tokenizer` lets build_zoo train the shared tokenizer once for all families. A family
    with a fine-tune recipe is trained in place after its random checkpoint is written.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    tokenizer = tokenizer if tokenizer is not None else build_tokenizer()
    config = make_config(spec, tokenizer)
    weights_seed = family_seed(spec, seed)

    tensors = randomise(_checkpoint_tensors(config), weights_seed)
    head = _EMBEDDING_TENSOR if config.tie_word_embeddings else _HEAD_TENSOR
    # all_special_ids misses <|im_start|>, which is special to the tokenizer but not one of
    # its named roles (bos/eos/pad/unk).
    special_ids = tokenizer.convert_tokens_to_ids(list(SPECIAL_TOKENS))
    tensors[head] = mute_output_rows(tensors[head], special_ids)
    save_file(tensors, str(out_dir / WEIGHTS_FILE), metadata=_SAFETENSORS_METADATA)
    config.save_pretrained(out_dir)
    _generation_config(tokenizer).save_pretrained(out_dir)
    tokenizer.save_pretrained(out_dir)
    if spec.fine_tune is not None:
        run_recipe(spec.fine_tune, out_dir, weights_seed)
    return sorted(path for path in out_dir.iterdir() if path.is_file())
