"""Shared fixtures for the zoo tests: one full zoo, built once per session in a temp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from cluster.zoo import FAMILIES, ZOO_DIR_ENV, build_zoo, is_complete

# Where `make setup` builds the zoo (zoo_root() without FLEET_ZOO_DIR).
REPO_ZOO = Path(__file__).resolve().parents[3] / "models" / "zoo"
SEED = 0


@pytest.fixture(autouse=True)
def _no_repo_zoo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A test that forgets to pass root must not write into (or read) the repo's real zoo.
    monkeypatch.setenv(ZOO_DIR_ENV, str(tmp_path / "default-zoo"))


def _reuse_fine_tuned(root: Path) -> None:
    """Copy the repo zoo's fine-tuned families into `root` when they are verified builds of
    the current spec (the manifest's hashes, spec digest, seed and builder version all
    match): training one takes over a minute, and `make setup` has just built it. Without
    a current repo build, build_zoo trains it here."""
    for family in FAMILIES:
        source = REPO_ZOO / family.name
        if family.fine_tune is not None and is_complete(source, family, SEED):
            shutil.copytree(source, root / family.name)


@pytest.fixture(scope="session")
def zoo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every family built with seed 0. Tests must treat it as read-only."""
    root = tmp_path_factory.mktemp("zoo")
    _reuse_fine_tuned(root)
    build_zoo(root, seed=SEED)
    return root
