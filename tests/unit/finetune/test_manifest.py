"""The adapter manifest round-trips through its file, and a bad one names file and field."""

from __future__ import annotations

import datetime
import json
from pathlib import Path

import pytest

from cluster.finetune.errors import ManifestError
from cluster.finetune.manifest import (
    MANIFEST_FILE,
    AdapterManifest,
    BaseModelInfo,
    DataInfo,
    TrainingInfo,
    load_manifest,
)
from cluster.finetune.options import FinetuneOptions

MANIFEST = AdapterManifest(
    created_at=datetime.datetime(2026, 11, 29, 12, 0, tzinfo=datetime.UTC),
    base=BaseModelInfo(
        name="tiny-qwen2",
        source="zoo:tiny-qwen2",
        path="/repo/models/zoo/tiny-qwen2",
        architecture="Qwen2ForCausalLM",
    ),
    data=DataInfo(file="status.jsonl", sha256="ab" * 32, rows=48, format="chat"),
    options=FinetuneOptions(rank=16, target_modules=("q_proj", "v_proj")),
    training=TrainingInfo(
        steps=60,
        first_epoch_loss=7.5,
        final_loss=0.7,
        epoch_losses=[7.5, 2.0, 0.7],
        duration_s=3.2,
        device="cpu",
        precision="float32",
    ),
    versions={"trl": "1.16.0", "peft": "0.21.2", "transformers": "5.24.0", "torch": "2.13.0"},
)


def test_a_manifest_round_trips(tmp_path: Path) -> None:
    path = MANIFEST.write(tmp_path)
    assert path == tmp_path / MANIFEST_FILE
    loaded = load_manifest(tmp_path)
    assert loaded == MANIFEST
    assert loaded.rank == 16
    assert loaded.options.target_modules == ("q_proj", "v_proj")


def test_a_missing_manifest_says_what_writes_one(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="fleet finetune"):
        load_manifest(tmp_path)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"manifest_version": 2}, "manifest_version"),
        ({"extra": 1}, "extra"),
        ({"options": {"rank": 0}}, "options.rank"),
        ({"data": {**MANIFEST.data.model_dump(), "sha256": "xyz"}}, "data.sha256"),
        (
            {"training": {**MANIFEST.training.model_dump(), "final_loss": 0.1}},
            "training",
        ),
    ],
)
def test_an_invalid_manifest_names_the_field(
    tmp_path: Path, change: dict[str, object], field: str
) -> None:
    document = {**json.loads(MANIFEST.model_dump_json()), **change}
    (tmp_path / MANIFEST_FILE).write_text(json.dumps(document))
    with pytest.raises(ManifestError) as caught:
        load_manifest(tmp_path)
    assert str(caught.value).startswith(f"{tmp_path / MANIFEST_FILE}: {field}: ")


def test_a_manifest_that_is_not_json_is_refused(tmp_path: Path) -> None:
    (tmp_path / MANIFEST_FILE).write_text("{")
    with pytest.raises(ManifestError, match=MANIFEST_FILE):
        load_manifest(tmp_path)
