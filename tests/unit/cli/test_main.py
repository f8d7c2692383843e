"""The CLI refuses a bad config before it starts anything."""

from pathlib import Path

from typer.testing import CliRunner

from cluster.cli.main import app

runner = CliRunner()


def test_help_lists_the_commands() -> None:
    result = runner.invoke(app, ["--help"])
    assert result.exit_code == 0
    for command in ("up", "status", "down", "zoo"):
        assert command in result.output


def test_up_with_an_invalid_config_names_file_and_field(tmp_path: Path) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text("models:\n  - name: m\n    source: org/m\n    engine: {dtype: float8}\n")
    result = runner.invoke(app, ["up", "--config", str(config)])
    assert result.exit_code == 2
    assert str(config) in result.output
    assert "models[0] (name: m).engine.dtype" in result.output


def test_up_with_a_missing_model_folder_fails_before_starting(tmp_path: Path) -> None:
    config = tmp_path / "cluster.yaml"
    config.write_text("models:\n  - name: m\n    source: ./no-such-weights\n")
    result = runner.invoke(app, ["up", "--config", str(config)])
    assert result.exit_code == 2
    assert "models[0] (name: m).source: no model folder" in result.output
