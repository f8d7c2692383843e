"""`fleet adapters add/remove` edit only the adapter list of a config file, checked first."""

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster.cli.main import app
from cluster.config import DEFAULT_CONFIG, load_config

runner = CliRunner()


def _adapter(folder: Path, rank: int = 8) -> Path:
    folder.mkdir(parents=True)
    (folder / "adapter_config.json").write_text(json.dumps({"r": rank, "peft_type": "LORA"}))
    return folder


@pytest.fixture
def config(tmp_path: Path) -> Path:
    copy = tmp_path / "local.yaml"
    shutil.copy(DEFAULT_CONFIG, copy)
    return copy


def test_add_lists_the_adapter_and_keeps_everything_else(config: Path, tmp_path: Path) -> None:
    before = config.read_text()
    folder = _adapter(tmp_path / "adapters" / "status")
    result = runner.invoke(app, ["adapters", "add", str(config), "tiny-qwen2", str(folder)])
    assert result.exit_code == 0, result.output
    assert "added tiny-qwen2:status" in result.output
    assert "fleet apply" in result.output
    after = config.read_text()
    # Only the adapter list changed: every comment and anchor of the file is still there.
    removed = set(before.splitlines()) - set(after.splitlines())
    assert removed == {"      adapters: []"}
    added = set(after.splitlines()) - set(before.splitlines())
    assert added == {"      adapters:", "        - name: status", f"          path: {folder}"}
    model = load_config(config).model("tiny-qwen2")
    assert model.adapter_names == ["tiny-qwen2:status"]

    result = runner.invoke(app, ["adapters", "list", "-c", str(config)])
    assert f"tiny-qwen2:status\t{folder}" in result.output

    result = runner.invoke(app, ["adapters", "remove", str(config), "tiny-qwen2", "status"])
    assert result.exit_code == 0, result.output
    assert load_config(config).model("tiny-qwen2").adapter_names == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["nope", "{folder}"], "no model named 'nope'"),
        (["tiny-qwen2", "{missing}"], "no PEFT LoRA adapter at"),
        (["tiny-qwen2", "{big}"], "rank 32 exceeds"),
        (["tiny-qwen2", "{folder}", "--name", "bad:name"], "name"),
    ],
)
def test_add_refuses_what_cannot_be_served_and_leaves_the_file(
    config: Path, tmp_path: Path, arguments: list[str], message: str
) -> None:
    paths = {
        "folder": str(_adapter(tmp_path / "ok")),
        "big": str(_adapter(tmp_path / "big", rank=32)),
        "missing": str(tmp_path / "missing"),
    }
    before = config.read_text()
    filled = [argument.format(**paths) for argument in arguments]
    result = runner.invoke(app, ["adapters", "add", str(config), *filled])
    assert result.exit_code == 2
    assert message in result.output
    assert config.read_text() == before


def test_add_twice_and_remove_unknown_say_so(config: Path, tmp_path: Path) -> None:
    folder = str(_adapter(tmp_path / "status"))
    assert runner.invoke(app, ["adapters", "add", str(config), "tiny-qwen2", folder]).exit_code == 0
    again = runner.invoke(app, ["adapters", "add", str(config), "tiny-qwen2", folder])
    assert again.exit_code == 2 and "already listed" in again.output
    gone = runner.invoke(app, ["adapters", "remove", str(config), "tiny-qwen2", "nope"])
    assert gone.exit_code == 2 and "no adapter 'nope' (status)" in gone.output


def test_a_model_without_lora_is_warned_about_the_restart(config: Path, tmp_path: Path) -> None:
    folder = str(_adapter(tmp_path / "status"))
    result = runner.invoke(app, ["adapters", "add", str(config), "tiny-mistral", folder])
    assert result.exit_code == 0, result.output
    assert "restarts its replicas" in result.output
    assert load_config(config).model("tiny-mistral").lora is not None
