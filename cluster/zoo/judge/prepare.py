"""Make the random checkpoint a base a judge can be trained from, in a few seconds of CPU.

Three changes, all deterministic:

- The Llama Guard template's fixed pieces become tokens of their own. The zoo's 512-token
  BPE, trained on ops text, spells the template nearly letter by letter: ~640 of a judge
  prompt's ~690 tokens are the same for every request, which buries the few words that
  differ; measured, LoRA could not find them in the time a zoo build may take. Llama 3's
  own tokenizer reads the template's markup (<|eot_id|>) as single tokens too. With the
  pieces added, a prompt is ~120 tokens, and ordinary text tokenizes exactly as before: the
  pieces are only ever matched whole.
- The end-of-sequence row of the output head gets random values again (the zoo mutes it,
  see weights.mute_output_rows), so that the judge can learn to stop after its verdict as
  Llama Guard does. The new pieces' rows stay zero: a judge never writes template markup.
- The transformer layers' matrices are scaled down, queries and keys most. At the zoo's
  weight scale every head attends almost entirely to one random token, which leaves no
  gradient towards the words that matter, and the MLPs' outputs are so large that a LoRA
  update barely moves them; scaled down, attention starts out even and LoRA learns about
  as fast as a full fine-tune.
"""

from __future__ import annotations

import re
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import save_file

from cluster.zoo.weights import WEIGHT_STD, derive_seed

WEIGHTS_FILE = "model.safetensors"
SAFETENSORS_METADATA = {"format": "pt"}
EMBEDDINGS = "model.embed_tokens.weight"
HEAD = "lm_head.weight"
# Measured on the labelled set (dataset.py), two epochs of the recipe's LoRA: the held-out
# verdicts were right ~73% of the time with only queries and keys at a tenth, ~86% with the
# other layer matrices at 0.25, ~90% at 0.35 (0.5: ~86%); at the zoo's scale, ~60%.
LAYER_SCALE = 0.35
ATTENTION_SCALE = 0.1
_LAYER_MATRICES = re.compile(r"^model\.layers\.\d+\..*_proj\.weight$")
_ATTENTION_MATRICES = re.compile(r"\.self_attn\.(q_proj|k_proj)\.weight$")
# Llama 3's markup tokens, and the template's other fixed runs of text, split at newlines.
_MARKUP = re.compile(r"(<\|[a-z_]+\|>|\n)")
_PLACEHOLDER = re.compile(r"\{[a-z_]+\}")


def template_pieces() -> tuple[str, ...]:
    """The fixed text of the guard's judge prompt, in the order it appears, each once.

    Read from the guard's own template, so that a change there changes the pieces (and the
    pinned digest in the unit tests says to bump the recipe). Single lowercase words
    ("user", "assistant") are left out: as tokens they would split ordinary words apart.
    """
    # The guard's private template constants: the one source of the prompt's text.
    from services.guardrails.checks.judge import _PROMPT_HEAD, _PROMPT_TAIL, CATEGORY_NAMES

    pieces: list[str] = []
    for template in (_PROMPT_HEAD, _PROMPT_TAIL):
        for part in _PLACEHOLDER.split(template):
            pieces += [piece for piece in _MARKUP.split(part) if piece and piece != "\n"]
    pieces += [f"{code}: {name}." for code, name in CATEGORY_NAMES.items()]
    kept = [piece for piece in pieces if not re.fullmatch(r"[a-z]+", piece)]
    return tuple(dict.fromkeys(kept))


def prepare_base(folder: Path, seed: int) -> None:
    """Apply the three changes above to the checkpoint in `folder`, in place."""
    from transformers import AutoConfig, AutoTokenizer

    config = AutoConfig.from_pretrained(folder, local_files_only=True)
    if config.tie_word_embeddings:
        # New embedding rows would be output rows too, and the template pieces predictable.
        raise ValueError("the judge recipe needs an output head of its own (untied embeddings)")
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    old_size = len(tokenizer)
    tokenizer.add_tokens(list(template_pieces()))
    tokenizer.save_pretrained(folder)
    config.vocab_size = len(tokenizer)
    config.save_pretrained(folder)

    tensors = read_tensors(folder / WEIGHTS_FILE)
    added = len(tokenizer) - old_size
    tensors[EMBEDDINGS] = torch.cat(
        [tensors[EMBEDDINGS], _random((added, config.hidden_size), seed, EMBEDDINGS, "pieces")]
    )
    tensors[HEAD] = torch.cat([tensors[HEAD], torch.zeros(added, config.hidden_size)])
    tensors[HEAD][config.eos_token_id] = _random(
        (config.hidden_size,), seed, HEAD, "end-of-sequence"
    )
    for name, tensor in tensors.items():
        if _LAYER_MATRICES.match(name):
            scale = LAYER_SCALE * (ATTENTION_SCALE if _ATTENTION_MATRICES.search(name) else 1.0)
            tensors[name] = tensor * scale
    save_file(tensors, str(folder / WEIGHTS_FILE), metadata=SAFETENSORS_METADATA)


def read_tensors(path: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(path), framework="pt") as reader:
        return {name: reader.get_tensor(name) for name in reader.keys()}  # noqa: SIM118


def _random(shape: tuple[int, ...], seed: int, *parts: str) -> torch.Tensor:
    generator = torch.Generator().manual_seed(derive_seed(seed, *parts))
    return torch.randn(shape, generator=generator, dtype=torch.float32) * WEIGHT_STD
