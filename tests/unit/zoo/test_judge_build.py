"""The judge's build pipeline at a small size: the random checkpoint prepared, a few steps of
the recipe's LoRA, merged. Same seed, same bytes, in another process too; the merged
weights keep the prepared layout, so vLLM loads the judge as the plain model it was."""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from transformers import AutoTokenizer

from cluster.finetune import FinetuneOptions
from cluster.zoo import build_model, get_family
from cluster.zoo.judge.build import train_merged
from cluster.zoo.judge.dataset import judge_rows, judge_set
from cluster.zoo.judge.prepare import prepare_base, read_tensors, template_pieces
from cluster.zoo.judge.recipe import JUDGE_RECIPE
from cluster.zoo.tokenizer import build_tokenizer

REPO = Path(__file__).resolve().parents[3]
ROWS = 24

_OTHER_PROCESS = """
import sys
from tests.unit.zoo.test_judge_build import small_build
small_build(sys.argv[1])
"""


def small_build(folder: str | Path) -> Path:
    """The judge's random checkpoint, prepared and trained on a few rows for one epoch."""
    folder = Path(folder)
    plain = dataclasses.replace(get_family("tiny-llama-guard"), fine_tune=None)
    build_model(plain, folder, seed=0)
    prepare_base(folder, seed=0)
    options = FinetuneOptions.model_validate({**JUDGE_RECIPE.options, "epochs": 1, "seed": 0})
    train_merged(folder, options, judge_rows("train")[:ROWS])
    return folder


def _hashes(folder: Path) -> dict[str, str]:
    return {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest()
        for path in sorted(folder.iterdir())
        if path.is_file()
    }


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return small_build(tmp_path_factory.mktemp("judge") / "small")


@pytest.fixture(scope="module")
def prepared(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("judge") / "prepared"
    build_model(dataclasses.replace(get_family("tiny-llama-guard"), fine_tune=None), folder, 0)
    prepare_base(folder, seed=0)
    return folder


def test_a_rebuild_in_another_process_is_byte_identical(built: Path, tmp_path: Path) -> None:
    env = {**os.environ, "PYTHONHASHSEED": "777"}
    subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, str(tmp_path / "again")],
        check=True,
        cwd=REPO,
        env=env,
        timeout=180,
        capture_output=True,
    )
    assert _hashes(tmp_path / "again") == _hashes(built)


def test_the_merge_keeps_the_prepared_layout(built: Path, prepared: Path) -> None:
    before, after = (
        read_tensors(prepared / "model.safetensors"),
        read_tensors(built / "model.safetensors"),
    )
    assert {name: t.shape for name, t in after.items()} == {
        name: t.shape for name, t in before.items()
    }
    with safe_open(str(built / "model.safetensors"), framework="pt") as reader:
        assert reader.metadata() == {"format": "pt"}
        assert {reader.get_slice(k).get_dtype() for k in reader.keys()} == {"F32"}  # noqa: SIM118
    # Training changed the layers, and not the embeddings (LoRA adapts linear layers only).
    name = "model.layers.0.mlp.down_proj.weight"
    assert not torch.equal(before[name], after[name])
    assert torch.equal(before["model.embed_tokens.weight"], after["model.embed_tokens.weight"])


def test_the_template_pieces_are_tokens_and_never_written(prepared: Path) -> None:
    tokenizer = AutoTokenizer.from_pretrained(prepared)
    config = json.loads((prepared / "config.json").read_text())
    shared = build_tokenizer()
    assert config["vocab_size"] == len(tokenizer) == len(shared) + len(template_pieces())
    prompt = judge_set().held_out[0].prompt()
    assert len(tokenizer(prompt)["input_ids"]) < len(shared(prompt)["input_ids"]) / 3
    # Ordinary text: the same ids as every other family's.
    text = "The cluster served 12,345 requests; ünïcödé and <b>tags</b> too."
    assert tokenizer(text)["input_ids"] == shared(text)["input_ids"]

    head = read_tensors(prepared / "model.safetensors")["lm_head.weight"]
    pieces = tokenizer.convert_tokens_to_ids(list(template_pieces()))
    assert torch.count_nonzero(head[pieces]) == 0
    assert torch.count_nonzero(head[config["eos_token_id"]]) == head.shape[1]
    assert torch.count_nonzero(head[config["bos_token_id"]]) == 0
