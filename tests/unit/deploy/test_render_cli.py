"""`fleet render`: output to a file or stdout, config errors as exit code 2."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from cluster.cli.render import render_app
from tests.unit.deploy.conftest import GPU_CONFIG, ROOT

runner = CliRunner()


def test_kuberay_writes_the_manifest(tmp_path: Path) -> None:
    output = tmp_path / "rayservice.yaml"
    result = runner.invoke(render_app, ["kuberay", "-c", str(ROOT / GPU_CONFIG), "-o", str(output)])
    assert result.exit_code == 0, result.output
    assert "kind: RayService" in output.read_text()


def test_launcher_prints_to_stdout() -> None:
    result = runner.invoke(render_app, ["launcher", "--config", str(ROOT / GPU_CONFIG)])
    assert result.exit_code == 0, result.output
    assert "available_node_types:" in result.output


def test_invalid_config_exits_2_naming_the_field(tmp_path: Path) -> None:
    config = tmp_path / "bad.yaml"
    config.write_text("models:\n  - name: m\n    source: org/m\n    engine: {dtype: float8}\n")
    result = runner.invoke(render_app, ["kuberay", "-c", str(config)])
    assert result.exit_code == 2
    assert "models[0] (name: m).engine.dtype" in result.output
