"""The generated stubs are current, and the .proto keeps its published shape."""

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest
from fleet.v1 import fleet_pb2

REPO = Path(__file__).resolve().parents[3]


def _load_generator() -> ModuleType:
    # protos/ is not a package: load the script by path, as `python protos/generate.py` does.
    spec = importlib.util.spec_from_file_location("protos_generate", REPO / "protos/generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


generate = _load_generator()


def test_stubs_match_a_fresh_generation_byte_for_byte() -> None:
    problems = generate.stale_files(generate.current_tree(), generate.fresh_tree())

    assert not problems, "stale stubs, run `python protos/generate.py`:\n" + "\n".join(problems)


def test_check_mode_passes_from_another_directory(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(REPO / "protos/generate.py"), "--check"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )

    assert result.returncode == 0, result.stderr


def test_stale_files_names_each_difference() -> None:
    fresh = {"a.py": b"new", "b.py": b"same"}
    current = {"a.py": b"old", "b.py": b"same", "c.py": b"orphan"}

    assert generate.stale_files(current, fresh) == [
        "a.py: stale",
        "c.py: not generated from any .proto (left over)",
    ]
    assert generate.stale_files({}, {"a.py": b""}) == ["a.py: missing"]


def test_service_and_its_three_methods() -> None:
    service = fleet_pb2.DESCRIPTOR.services_by_name["FleetService"]
    methods = {
        method.name: (
            method.input_type.full_name,
            method.output_type.full_name,
            method.client_streaming,
            method.server_streaming,
        )
        for method in service.methods
    }

    assert service.full_name == "fleet.v1.FleetService"
    assert methods == {
        "Generate": ("fleet.v1.GenerateRequest", "fleet.v1.GenerateResponse", False, False),
        "GenerateStream": (
            "fleet.v1.GenerateRequest",
            "fleet.v1.GenerateStreamResponse",
            False,
            True,
        ),
        "ListModels": ("fleet.v1.ListModelsRequest", "fleet.v1.ListModelsResponse", False, False),
    }


# Published field numbers: callers in other languages encode these. Adding fields is
# fine; changing or removing a number here breaks them (see the .proto's evolution rules).
PUBLISHED_FIELDS = {
    "GenerateRequest": {"chat": 1, "prompt": 2, "sampling": 10, "routing": 11, "request_id": 12},
    "ChatInput": {"messages": 1},
    "ChatMessage": {"role": 1, "content": 2, "name": 3},
    "SamplingParams": {
        "max_tokens": 1,
        "temperature": 2,
        "top_p": 3,
        "top_k": 4,
        "seed": 5,
        "stop": 6,
        "presence_penalty": 7,
        "frequency_penalty": 8,
        "ignore_eos": 9,
    },
    "RoutingHints": {"model": 1, "routing_key": 2, "tenant": 3, "labels": 4},
    "Usage": {"prompt_tokens": 1, "completion_tokens": 2, "total_tokens": 3},
    "RouteInfo": {"model": 1, "route": 2, "variant": 3, "reason": 4},
    "GenerateResponse": {
        "text": 1,
        "finish_reason": 2,
        "usage": 3,
        "route": 4,
        "time_to_first_token_ms": 5,
        "request_id": 6,
    },
    "GenerateStreamResponse": {"delta": 1, "end": 2},
    "TextDelta": {"text": 1, "route": 2},
    "StreamEnd": {
        "finish_reason": 1,
        "usage": 2,
        "route": 3,
        "time_to_first_token_ms": 4,
        "request_id": 5,
    },
    "ModelInfo": {
        "id": 1,
        "owned_by": 2,
        "max_model_len": 3,
        "source": 4,
        "family": 5,
        "aliases": 6,
        "created": 7,
        "description": 8,
    },
    "ListModelsResponse": {"models": 1},
}


@pytest.mark.parametrize("message_name", sorted(PUBLISHED_FIELDS))
def test_published_field_numbers_never_change(message_name: str) -> None:
    descriptor = fleet_pb2.DESCRIPTOR.message_types_by_name[message_name]
    numbers = {field.name: field.number for field in descriptor.fields}

    assert numbers.items() >= PUBLISHED_FIELDS[message_name].items()


def test_published_finish_reasons_never_change() -> None:
    values = {value.name: value.number for value in fleet_pb2.FinishReason.DESCRIPTOR.values}
    published = {
        "FINISH_REASON_UNSPECIFIED": 0,
        "FINISH_REASON_STOP": 1,
        "FINISH_REASON_LENGTH": 2,
        "FINISH_REASON_ABORT": 3,
        "FINISH_REASON_CONTENT_FILTER": 4,
    }

    assert values.items() >= published.items()


def test_input_and_stream_events_are_oneofs() -> None:
    request = fleet_pb2.GenerateRequest.DESCRIPTOR.oneofs_by_name["input"]
    event = fleet_pb2.GenerateStreamResponse.DESCRIPTOR.oneofs_by_name["event"]

    assert [field.name for field in request.fields] == ["chat", "prompt"]
    assert [field.name for field in event.fields] == ["delta", "end"]


def test_sampling_scalars_tell_unset_from_zero() -> None:
    fields = fleet_pb2.SamplingParams.DESCRIPTOR.fields_by_name
    optional = [name for name in PUBLISHED_FIELDS["SamplingParams"] if name != "stop"]

    assert all(fields[name].has_presence for name in optional)
    assert fleet_pb2.SamplingParams(temperature=0.0).HasField("temperature")
    assert not fleet_pb2.SamplingParams().HasField("temperature")
    assert fields["stop"].is_repeated
