"""`fleet zoo build | list | path`."""

from __future__ import annotations

import shutil
from pathlib import Path

from typer.testing import CliRunner

from cluster.cli.zoo import zoo_app
from cluster.zoo import FAMILIES

runner = CliRunner()


def test_build_reports_built_then_up_to_date(tmp_path: Path) -> None:
    args = ["build", "--root", str(tmp_path), "--only", "tiny-phi3", "--only", "tiny-gemma"]
    first = runner.invoke(zoo_app, args)
    assert first.exit_code == 0, first.output
    lines = first.output.splitlines()
    assert [line.split()[:2] for line in lines] == [["tiny-phi3", "built"], ["tiny-gemma", "built"]]

    second = runner.invoke(zoo_app, args)
    assert second.exit_code == 0, second.output
    assert all("up to date" in line for line in second.output.splitlines())
    assert len(second.output.splitlines()) == 2


def test_build_quiet_prints_nothing(tmp_path: Path) -> None:
    result = runner.invoke(
        zoo_app,
        ["build", "--root", str(tmp_path), "--only", "tiny-llama", "--seed", "5", "--quiet"],
    )
    assert result.exit_code == 0
    assert result.output == ""
    assert (tmp_path / "tiny-llama" / "zoo.json").is_file()


def test_build_rejects_unknown_family(tmp_path: Path) -> None:
    result = runner.invoke(zoo_app, ["build", "--root", str(tmp_path), "--only", "tiny-gpt5"])
    assert result.exit_code != 0
    assert not any(tmp_path.iterdir())


def test_list_names_every_family_and_its_real_model(tmp_path: Path) -> None:
    result = runner.invoke(zoo_app, ["list", "--root", str(tmp_path)])
    assert result.exit_code == 0
    for family in FAMILIES:
        assert family.name in result.output
        assert family.stands_in_for in result.output
    assert "not built" in result.output


def test_path(tmp_path: Path) -> None:
    result = runner.invoke(zoo_app, ["path", "tiny-qwen2", "--root", str(tmp_path)])
    assert result.exit_code == 0
    assert result.output.strip() == str(tmp_path / "tiny-qwen2")


def test_build_reports_the_judges_held_out_accuracy(zoo_root: Path, tmp_path: Path) -> None:
    shutil.copytree(zoo_root / "tiny-llama-guard", tmp_path / "tiny-llama-guard")
    result = runner.invoke(
        zoo_app, ["build", "--root", str(tmp_path), "--only", "tiny-llama-guard"]
    )
    assert result.exit_code == 0, result.output
    assert "up to date" in result.output
    assert "safe/unsafe" in result.output and "held-out prompts" in result.output
