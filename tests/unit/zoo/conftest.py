"""Shared fixtures for the zoo tests: one full zoo, built once per session in a temp folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from cluster.zoo import ZOO_DIR_ENV, build_zoo


@pytest.fixture(autouse=True)
def _no_repo_zoo(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # A test that forgets to pass root must not write into (or read) the repo's real zoo.
    monkeypatch.setenv(ZOO_DIR_ENV, str(tmp_path / "default-zoo"))


@pytest.fixture(scope="session")
def zoo_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Every family built with seed 0. Tests must treat it as read-only."""
    root = tmp_path_factory.mktemp("zoo")
    build_zoo(root, seed=0)
    return root
