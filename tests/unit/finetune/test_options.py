"""Fine-tune options: bounds checked at the edge, module lists parsed from the CLI's text."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from cluster.finetune.options import ALL_LINEAR, FinetuneOptions, parse_target_modules


def test_the_defaults_are_the_usual_lora_start() -> None:
    options = FinetuneOptions()
    assert (options.rank, options.lora_alpha, options.target_modules) == (8, 16, ALL_LINEAR)
    assert (options.epochs, options.learning_rate, options.seed) == (3, 2e-4, 0)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("rank", 0),
        ("rank", 1024),
        ("lora_alpha", 0),
        ("lora_dropout", 1.0),
        ("lora_dropout", -0.1),
        ("epochs", 0),
        ("learning_rate", 0),
        ("learning_rate", 2.0),
        ("max_length", 4),
        ("batch_size", 0),
        ("seed", -1),
        ("target_modules", ()),
        ("target_modules", ("q_proj", "q_proj")),
        ("target_modules", ("q-proj",)),
        ("target_modules", "every-linear"),
    ],
)
def test_out_of_bounds_values_are_refused(field: str, value: object) -> None:
    with pytest.raises(ValidationError) as caught:
        FinetuneOptions.model_validate({field: value})
    assert caught.value.errors()[0]["loc"][0] == field


def test_unknown_fields_are_refused_and_options_are_frozen() -> None:
    with pytest.raises(ValidationError):
        FinetuneOptions.model_validate({"rnak": 4})
    with pytest.raises(ValidationError):
        FinetuneOptions().rank = 4  # type: ignore[misc]


def test_module_lists_parse_from_text() -> None:
    assert parse_target_modules("q_proj, v_proj,") == ("q_proj", "v_proj")
    assert parse_target_modules(ALL_LINEAR) == ALL_LINEAR
    options = FinetuneOptions(target_modules=parse_target_modules("q_proj,v_proj"))
    assert options.target_modules == ("q_proj", "v_proj")
