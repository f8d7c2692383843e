"""Attributing CPU time to the hops of the request path."""

import pytest

from loadtests.bench.cpu_breakdown import CpuSample, cpu_by_hop, hop_of, to_markdown


@pytest.mark.parametrize(
    ("title", "hop"),
    [
        ("ray::ProxyActor", "Ray Serve HTTP/gRPC proxy"),
        ("ray::ServeReplica:llm-fleet:router", "llm-fleet router"),
        ("ray::ServeReplica:model-tiny-qwen2:model-tiny-qwen2", "model replica (LLMServer)"),
        ("VLLM::EngineCore", "vLLM engine core"),
        ("python -m vllm.entrypoints.openai.api_server --model m", "vLLM API server"),
        ("/venv/bin/python -m loadtests.bench.compare", "load generator"),
        ("sshd", "other"),
    ],
)
def test_processes_are_named_by_their_hop(title: str, hop: str) -> None:
    assert hop_of(title) == hop


def test_cpu_is_the_difference_between_snapshots_summed_per_hop() -> None:
    before = {1: ("VLLM::Worker", 10.0), 2: ("ray::ProxyActor", 5.0)}
    after = {
        1: ("VLLM::Worker", 12.5),
        2: ("ray::ProxyActor", 5.0),  # idle: left out
        3: ("ray::ProxyActor", 0.5),  # started during the run: counts whole
    }

    assert cpu_by_hop(before, after) == {
        "vLLM worker": 2.5,
        "Ray Serve HTTP/gRPC proxy": 0.5,
    }


def test_the_table_has_a_column_per_system_and_a_total() -> None:
    samples = {
        "vllm": CpuSample({"vLLM worker": 2.0, "vLLM API server": 0.5}, 100, 3.0),
        "llm-fleet": CpuSample({"vLLM worker": 3.0, "llm-fleet router": 2.0}, 100, 6.0),
    }

    lines = to_markdown(samples).splitlines()

    assert lines[0] == "| process | vllm | llm-fleet |"
    assert lines[2] == "| vLLM worker | 20.0 | 30.0 |"  # the biggest hop first
    assert "| llm-fleet router | 0.0 | 20.0 |" in lines
    assert lines[-1] == "| total | 25.0 | 50.0 |"
