"""Where the zoo lives and when build_zoo rebuilds a family."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cluster.zoo import (
    MANIFEST_FILE,
    ZOO_DIR_ENV,
    BuildResult,
    build_zoo,
    get_family,
    is_complete,
    zoo_path,
    zoo_root,
)

FAMILY = "tiny-llama"


def _build(root: Path, **kwargs: object) -> list[BuildResult]:
    results: list[BuildResult] = []
    build_zoo(root, only=[FAMILY], on_result=results.append, **kwargs)  # type: ignore[arg-type]
    return results


def test_second_build_is_skipped_and_force_rebuilds(tmp_path: Path) -> None:
    (first,) = _build(tmp_path)
    assert first.built and first.path == tmp_path / FAMILY
    weights = first.path / "model.safetensors"
    stamp = weights.stat().st_mtime_ns

    (second,) = _build(tmp_path)
    assert not second.built
    assert weights.stat().st_mtime_ns == stamp

    (forced,) = _build(tmp_path, force=True)
    assert forced.built
    assert weights.stat().st_mtime_ns != stamp


def test_other_seed_rebuilds(tmp_path: Path) -> None:
    _build(tmp_path, seed=0)
    (result,) = _build(tmp_path, seed=3)
    assert result.built
    manifest = json.loads((tmp_path / FAMILY / MANIFEST_FILE).read_text())
    assert manifest["seed"] == 3
    assert is_complete(tmp_path / FAMILY, get_family(FAMILY), 3)
    assert not is_complete(tmp_path / FAMILY, get_family(FAMILY), 0)


@pytest.mark.parametrize(
    "damage",
    [
        lambda folder: (folder / "model.safetensors").write_bytes(b"truncated"),
        lambda folder: (folder / "tokenizer.json").unlink(),
        lambda folder: (folder / MANIFEST_FILE).unlink(),
        lambda folder: (folder / MANIFEST_FILE).write_text("{not json"),
    ],
    ids=["corrupt-weights", "missing-file", "no-manifest", "bad-manifest"],
)
def test_damaged_build_is_rebuilt(tmp_path: Path, damage: object) -> None:
    _build(tmp_path)
    folder = tmp_path / FAMILY
    damage(folder)  # type: ignore[operator]
    assert not is_complete(folder, get_family(FAMILY), 0)
    (result,) = _build(tmp_path)
    assert result.built
    assert is_complete(folder, get_family(FAMILY), 0)


def test_stale_builder_version_is_rebuilt(tmp_path: Path) -> None:
    _build(tmp_path)
    manifest_path = tmp_path / FAMILY / MANIFEST_FILE
    manifest = json.loads(manifest_path.read_text())
    manifest["builder_version"] -= 1
    manifest_path.write_text(json.dumps(manifest))
    (result,) = _build(tmp_path)
    assert result.built


def test_build_leaves_no_scratch_folders(tmp_path: Path) -> None:
    _build(tmp_path)
    _build(tmp_path, force=True)
    visible = sorted(p.name for p in tmp_path.iterdir() if not p.name.endswith(".lock"))
    assert visible == [FAMILY]
    assert (tmp_path / FAMILY).stat().st_mode & 0o777 == 0o755


def test_build_zoo_returns_folders_in_family_order(tmp_path: Path) -> None:
    paths = build_zoo(tmp_path, only=["tiny-qwen2", "tiny-mistral"])
    assert paths == [tmp_path / "tiny-mistral", tmp_path / "tiny-qwen2"]
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith(".")) == [
        "tiny-mistral",
        "tiny-qwen2",
    ]


def test_unknown_family_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(KeyError, match="tiny-mistral"):
        build_zoo(tmp_path, only=["tiny-gpt5"])
    with pytest.raises(KeyError):
        zoo_path("tiny-gpt5")


def test_zoo_root_follows_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ZOO_DIR_ENV, str(tmp_path / "elsewhere"))
    assert zoo_root() == tmp_path / "elsewhere"
    assert zoo_path("tiny-qwen2") == tmp_path / "elsewhere" / "tiny-qwen2"
    assert zoo_path("tiny-qwen2", root=tmp_path) == tmp_path / "tiny-qwen2"


def test_default_root_is_under_the_repo(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(ZOO_DIR_ENV)
    repo = Path(__file__).resolve().parents[3]
    assert zoo_root() == repo / "models" / "zoo"


def test_build_uses_env_root_by_default(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv(ZOO_DIR_ENV, str(tmp_path))
    assert build_zoo(only=[FAMILY]) == [tmp_path / FAMILY]
    assert is_complete(tmp_path / FAMILY, get_family(FAMILY), 0)
