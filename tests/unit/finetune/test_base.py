"""`--base` names a config model, a zoo family, a folder or a hub id."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster.config.schema import ZOO_PREFIX
from cluster.finetune import base as base_module
from cluster.finetune.base import BaseModelRef, architecture, resolve_base
from cluster.finetune.errors import FinetuneError
from cluster.zoo import ZOO_DIR_ENV


def _config(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "cluster.yaml"
    path.write_text(f"models:\n  - name: support\n    source: {source}\n")
    return path


def _checkpoint(folder: Path) -> Path:
    folder.mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps({"architectures": ["Qwen2ForCausalLM"]}))
    return folder


def test_the_zoo_prefix_is_the_config_schemas() -> None:
    assert base_module.ZOO_PREFIX == ZOO_PREFIX


def test_a_model_of_the_embedded_config_keeps_its_zoo_source() -> None:
    assert resolve_base("tiny-qwen2") == BaseModelRef("tiny-qwen2", "zoo:tiny-qwen2")


def test_a_model_of_a_given_config_resolves_to_its_folder(tmp_path: Path) -> None:
    folder = _checkpoint(tmp_path / "weights")
    ref = resolve_base("support", _config(tmp_path, str(folder)))
    assert ref == BaseModelRef("support", str(folder))
    assert ref.is_local and not ref.is_zoo
    assert ref.locate() == str(folder)


def test_a_zoo_family_locates_in_the_zoo(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ZOO_DIR_ENV, str(tmp_path))
    ref = resolve_base("zoo:tiny-qwen2")
    assert ref.is_zoo and ref.is_local
    with pytest.raises(FinetuneError, match="fleet zoo build"):
        ref.locate()
    _checkpoint(tmp_path / "tiny-qwen2")
    assert ref.locate() == str(tmp_path / "tiny-qwen2")


def test_an_unknown_zoo_family_lists_the_known_ones() -> None:
    with pytest.raises(FinetuneError, match="known: tiny-mistral"):
        resolve_base("zoo:tiny-nope")


def test_a_folder_resolves_to_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _checkpoint(tmp_path / "weights")
    monkeypatch.chdir(tmp_path)
    ref = resolve_base("weights")
    assert ref == BaseModelRef("weights", str(tmp_path / "weights"))
    assert architecture(ref.locate()) == "Qwen2ForCausalLM"


def test_a_hub_id_is_left_to_transformers() -> None:
    ref = resolve_base("Qwen/Qwen2.5-0.5B-Instruct")
    assert ref.source == "Qwen/Qwen2.5-0.5B-Instruct"
    assert not ref.is_local
    assert ref.locate() == "Qwen/Qwen2.5-0.5B-Instruct"
    assert architecture(ref.locate()) is None


def test_an_unknown_name_lists_the_config_models(tmp_path: Path) -> None:
    with pytest.raises(FinetuneError) as caught:
        resolve_base("nope", _config(tmp_path, "org/model"))
    assert str(caught.value) == (
        f"--base 'nope': not a model of {tmp_path / 'cluster.yaml'} (support), "
        "not zoo:<family>, not a folder and not a hub id (org/name)"
    )


def test_an_invalid_config_is_a_finetune_error(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text("models: 3\n")
    with pytest.raises(FinetuneError, match="cluster.yaml"):
        resolve_base("support", path)
