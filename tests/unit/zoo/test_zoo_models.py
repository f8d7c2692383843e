"""Each family's files load with transformers, and the shared tokenizer behaves."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoConfig, AutoTokenizer, GenerationConfig

from cluster.zoo import FAMILY_NAMES, get_family
from cluster.zoo.tokenizer import IM_END, IM_START

TEXTS = [
    "The cluster served 12,345 requests at p99 = 310 ms.",
    "  leading spaces, tabs\tand\nnew lines  ",
    "ünïcödé, emoji 🚀 and 中文 still round-trip byte by byte",
]


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_config_loads(zoo_root: Path, name: str) -> None:
    spec = get_family(name)
    config = AutoConfig.from_pretrained(zoo_root / name)
    tokenizer = AutoTokenizer.from_pretrained(zoo_root / name)
    assert config.architectures == [spec.architecture]
    assert config.model_type == spec.model_type
    assert config.vocab_size == len(tokenizer)
    assert config.hidden_size // config.num_attention_heads == 64
    assert getattr(config, "head_dim", 64) == 64
    assert config.num_key_value_heads == 2
    assert config.max_position_embeddings == 2048
    assert str(config.dtype).removeprefix("torch.") == "float32"
    for token_id in (config.bos_token_id, config.eos_token_id, config.pad_token_id):
        assert 0 <= token_id < config.vocab_size
    assert config.eos_token_id == tokenizer.eos_token_id

    generation = GenerationConfig.from_pretrained(zoo_root / name)
    assert generation.eos_token_id == tokenizer.eos_token_id


def test_mixtral_routes_top2_of_4(zoo_root: Path) -> None:
    config = AutoConfig.from_pretrained(zoo_root / "tiny-mixtral")
    assert (config.num_local_experts, config.num_experts_per_tok) == (4, 2)


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_tokenizer_round_trips(zoo_root: Path, name: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(zoo_root / name)
    for text in TEXTS:
        ids = tokenizer.encode(text, add_special_tokens=False)
        assert tokenizer.decode(ids) == text
        assert all(0 <= i < len(tokenizer) for i in ids)


def test_all_families_tokenize_alike(zoo_root: Path) -> None:
    # transformers loads tiny-qwen2 with its own Qwen2Tokenizer class; the ids must still agree.
    text = " ".join(TEXTS)
    encodings = {
        name: AutoTokenizer.from_pretrained(zoo_root / name).encode(text, add_special_tokens=False)
        for name in FAMILY_NAMES
    }
    assert len({tuple(ids) for ids in encodings.values()}) == 1


@pytest.mark.parametrize("name", FAMILY_NAMES)
def test_chat_template(zoo_root: Path, name: str) -> None:
    tokenizer = AutoTokenizer.from_pretrained(zoo_root / name)
    messages = [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "Is the cluster healthy?"},
    ]
    prompt = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    assert prompt == (
        f"{IM_START}system\nBe brief.{IM_END}\n"
        f"{IM_START}user\nIs the cluster healthy?{IM_END}\n"
        f"{IM_START}assistant\n"
    )
    without = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=False)
    assert prompt.startswith(without) and not without.endswith("assistant\n")

    ids = tokenizer.apply_chat_template(messages, add_generation_prompt=True, return_dict=True)[
        "input_ids"
    ]
    # Chat markers are single special tokens, not spelled out in bytes.
    assert ids.count(tokenizer.convert_tokens_to_ids(IM_START)) == 3
    assert ids.count(tokenizer.convert_tokens_to_ids(IM_END)) == 2
    assert tokenizer.decode(ids, skip_special_tokens=True).count("<|") == 0


def test_special_token_roles(zoo_root: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(zoo_root / "tiny-mistral")
    assert tokenizer.eos_token == IM_END
    assert tokenizer.bos_token == tokenizer.pad_token == "<|endoftext|>"
    assert tokenizer.model_max_length == 2048
