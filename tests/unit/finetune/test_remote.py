"""What the `--on-cluster` Ray task returns: every file the training wrote, by name.
(The Ray round trip itself needs a running cluster; it is not exercised here.)"""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.finetune import FinetuneOptions, load_data
from cluster.finetune import trainer as trainer_module
from cluster.finetune.base import BaseModelRef
from cluster.finetune.remote import adapter_files
from tests.support.finetune_data import write_status_data


def test_the_task_returns_the_adapter_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def fake_train(data: object, base: object, out_dir: Path, options: object) -> None:
        (out_dir / "adapter_config.json").write_text("{}")
        (out_dir / "adapter_model.safetensors").write_bytes(b"\x00weights")

    monkeypatch.setattr(trainer_module, "train_adapter", fake_train)
    monkeypatch.setattr(trainer_module, "quiet_libraries", lambda: None)
    data = load_data(write_status_data(tmp_path / "status.jsonl"))
    files = adapter_files(data, BaseModelRef("tiny-qwen2", "zoo:tiny-qwen2"), FinetuneOptions())
    assert files == {
        "adapter_config.json": b"{}",
        "adapter_model.safetensors": b"\x00weights",
    }
