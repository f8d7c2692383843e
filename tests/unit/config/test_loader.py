from pathlib import Path

import pytest

from cluster.config import ConfigError, load_config, parse_config

MINIMAL = """
models:
  - name: tiny-qwen2
    source: zoo:tiny-qwen2
"""


def test_minimal_config_gets_defaults() -> None:
    config = parse_config(MINIMAL)
    model = config.models[0]
    assert model.engine.tensor_parallel_size == 1
    assert config.http.port == 8000
    assert config.device == "cpu"


def test_error_names_file_model_and_field() -> None:
    text = MINIMAL + "    engine:\n      dtype: float8\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, "cluster.yaml")
    message = str(caught.value)
    assert "cluster.yaml" in message
    assert "models[0] (name: tiny-qwen2).engine.dtype" in message


def test_unknown_field_is_rejected() -> None:
    with pytest.raises(ConfigError, match=r"models\[0\] \(name: tiny-qwen2\)\.replica"):
        parse_config(MINIMAL + "    replica: 2\n")


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("    engine:\n      tensor_parallel_size: 0\n", "engine.tensor_parallel_size"),
        ("    replicas: 1\n    autoscaling: {min_replicas: 1, max_replicas: 2}\n", "models[0]"),
        ("    autoscaling: {min_replicas: 3, max_replicas: 2}\n", "autoscaling"),
        ("    engine:\n      extra_args: {dtype: half}\n", "engine"),
    ],
)
def test_invalid_values_name_their_field(extra: str, field: str) -> None:
    with pytest.raises(ConfigError, match=field.replace("[", r"\[").replace("]", r"\]")):
        parse_config(MINIMAL + extra)


def test_duplicate_model_names_are_rejected() -> None:
    text = MINIMAL + "  - name: TINY-QWEN2\n    source: zoo:tiny-qwen2\n"
    with pytest.raises(ConfigError, match="used twice"):
        parse_config(text)


def test_empty_model_list_is_rejected() -> None:
    with pytest.raises(ConfigError, match="models"):
        parse_config("models: []\n")


def test_yaml_syntax_error_names_file() -> None:
    with pytest.raises(ConfigError, match="bad.yaml: not valid YAML"):
        parse_config("models: [\n", "bad.yaml")


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "absent.yaml")


def test_relative_sources_are_anchored_at_the_file(tmp_path: Path) -> None:
    path = tmp_path / "cluster.yaml"
    path.write_text("models:\n  - name: local\n    source: ./weights/m\n")
    assert load_config(path).models[0].source == str(tmp_path / "weights" / "m")
