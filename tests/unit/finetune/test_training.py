"""One real fine-tune of the zoo's tiny-qwen2, twice with the same seed (once through the
API, once through `fleet finetune`): the loss falls, the adapter changes greedy output, and
the two adapters are the same bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cluster.cli.finetune import FLAGS
from cluster.cli.main import app
from cluster.finetune import (
    MANIFEST_FILE,
    AdapterManifest,
    FinetuneOptions,
    TrainingProgress,
    finetune,
    load_manifest,
)
from cluster.zoo import build_zoo, zoo_path
from tests.support.finetune_data import (
    ANSWER,
    STATUS_OPTIONS,
    status_question,
    write_status_data,
)

BASE = "tiny-qwen2"
ROWS = 48
WEIGHTS = "adapter_model.safetensors"


@dataclass(frozen=True)
class Runs:
    data: Path
    api: Path
    api_manifest: AdapterManifest
    progress: list[TrainingProgress]
    cli: Path
    cli_output: str


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> Runs:
    build_zoo(only=[BASE])  # a no-op after `make setup`
    folder = tmp_path_factory.mktemp("finetune")
    data = write_status_data(folder / "status.jsonl", ROWS)
    progress: list[TrainingProgress] = []
    options = FinetuneOptions.model_validate(STATUS_OPTIONS)
    manifest = finetune(data, BASE, folder / "api", options, on_progress=progress.append)
    flags = [item for name, value in STATUS_OPTIONS.items() for item in (FLAGS[name], str(value))]
    command = ["finetune", str(data), "--base", f"zoo:{BASE}", "--out", str(folder / "cli")]
    result = CliRunner().invoke(app, [*command, *flags])
    assert result.exit_code == 0, result.output
    return Runs(data, folder / "api", manifest, progress, folder / "cli", result.output)


def test_the_loss_falls_clearly(runs: Runs) -> None:
    training = runs.api_manifest.training
    assert training.final_loss < training.first_epoch_loss / 2
    assert len(training.epoch_losses) == STATUS_OPTIONS["epochs"]


def test_progress_reports_every_step(runs: Runs) -> None:
    steps = runs.api_manifest.training.steps
    assert [progress.step for progress in runs.progress] == list(range(1, steps + 1))
    assert {progress.total_steps for progress in runs.progress} == {steps}
    assert runs.progress[-1].epoch == pytest.approx(STATUS_OPTIONS["epochs"])


def test_the_folder_holds_a_peft_adapter_and_the_manifest(runs: Runs) -> None:
    assert {path.name for path in runs.api.iterdir()} >= {
        "adapter_config.json",
        WEIGHTS,
        MANIFEST_FILE,
    }
    settings = json.loads((runs.api / "adapter_config.json").read_text())
    assert (settings["peft_type"], settings["r"], settings["lora_alpha"]) == ("LORA", 8, 16)
    assert load_manifest(runs.api) == runs.api_manifest


def test_the_manifest_records_base_data_and_setup(runs: Runs) -> None:
    manifest = runs.api_manifest
    assert (manifest.base.name, manifest.base.source) == (BASE, f"zoo:{BASE}")
    assert manifest.base.path == str(zoo_path(BASE))
    assert manifest.base.architecture == "Qwen2ForCausalLM"
    assert (manifest.data.file, manifest.data.rows, manifest.data.format) == (
        "status.jsonl",
        ROWS,
        "chat",
    )
    assert (manifest.training.device, manifest.training.precision) == ("cpu", "float32")
    assert set(manifest.versions) == {"trl", "peft", "transformers", "torch"}


def test_the_same_seed_gives_the_same_adapter(runs: Runs) -> None:
    assert (runs.api / WEIGHTS).read_bytes() == (runs.cli / WEIGHTS).read_bytes()
    cli_manifest = load_manifest(runs.cli)
    assert cli_manifest.base.name == f"zoo:{BASE}"
    assert cli_manifest.training.epoch_losses == runs.api_manifest.training.epoch_losses


def test_the_cli_prints_progress_and_summary(runs: Runs) -> None:
    assert f"data: {runs.data}: {ROWS} chat examples" in runs.cli_output
    assert "  [" in runs.cli_output and "step 60/60" in runs.cli_output
    assert f"adapter written to {runs.cli}" in runs.cli_output
    assert f"manifest: {runs.cli / MANIFEST_FILE}" in runs.cli_output


def test_training_leaves_torch_as_it_found_it(runs: Runs) -> None:
    import torch

    assert not torch.are_deterministic_algorithms_enabled()


# PEFT reads transformers' deprecated alias while it loads the adapter.
@pytest.mark.filterwarnings("ignore:.*is_gradient_checkpointing:FutureWarning")
def test_the_adapter_answers_an_unseen_question(runs: Runs) -> None:
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    base = str(zoo_path(BASE))
    tokenizer = AutoTokenizer.from_pretrained(base, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(base, local_files_only=True)
    tuned = PeftModel.from_pretrained(model, str(runs.api)).eval()
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "content": status_question(1001)}],
        add_generation_prompt=True,
        return_dict=True,
        return_tensors="pt",
    )["input_ids"]
    with torch.no_grad():
        output = tuned.generate(input_ids=prompt, max_new_tokens=8, do_sample=False)
    assert tokenizer.decode(output[0, prompt.shape[1] :]).startswith(ANSWER)
