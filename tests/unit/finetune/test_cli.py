"""`fleet finetune` refuses bad data, options and output folders before any model loads."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from cluster.cli import finetune as finetune_cli
from cluster.cli.main import app
from tests.support.finetune_data import write_status_data

runner = CliRunner()


@pytest.fixture(autouse=True)
def _no_training(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*_: object) -> None:
        raise AssertionError("training started")

    monkeypatch.setattr(finetune_cli, "_train_here", refuse)
    monkeypatch.setattr(finetune_cli, "_train_on_cluster", refuse)


def _invoke(data: Path, out: Path, *extra: str) -> Result:
    return runner.invoke(
        app, ["finetune", str(data), "--base", "tiny-qwen2", "--out", str(out), *extra]
    )


def test_bad_data_fails_with_every_problem(tmp_path: Path) -> None:
    data = write_status_data(tmp_path / "data.jsonl", 8)
    rows = data.read_text().splitlines()
    bad_role = json.dumps({"messages": [{"role": "bot", "content": "hi"}]})
    data.write_text("\n".join([*rows[:6], bad_role, "not json", *rows[6:]]) + "\n")
    result = _invoke(data, tmp_path / "out")
    assert result.exit_code == 2
    role = f"{data}:7: messages[0].role: expected one of system, user, assistant, got 'bot'"
    assert role in result.output
    assert f"{data}:8: invalid JSON" in result.output
    assert not (tmp_path / "out").exists()


def test_a_non_empty_out_folder_needs_force(tmp_path: Path) -> None:
    data = write_status_data(tmp_path / "data.jsonl")
    out = tmp_path / "out"
    out.mkdir()
    (out / "adapter_config.json").write_text("{}")
    result = _invoke(data, out)
    assert result.exit_code == 2
    assert "the folder is not empty (--force writes the adapter into it)" in result.output
    result = _invoke(data, out, "--force")
    assert str(result.exception) == "training started"


def test_out_of_bounds_options_name_the_flag(tmp_path: Path) -> None:
    data = write_status_data(tmp_path / "data.jsonl")
    result = _invoke(data, tmp_path / "out", "--rank", "0", "--dropout", "1")
    assert result.exit_code == 2
    assert "--rank: Input should be greater than or equal to 1" in result.output
    assert "--dropout: Input should be less than 1" in result.output


def test_an_unknown_base_is_refused(tmp_path: Path) -> None:
    data = write_status_data(tmp_path / "data.jsonl")
    result = runner.invoke(
        app, ["finetune", str(data), "--base", "nope", "--out", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "--base 'nope': not a model of the embedded config" in result.output
