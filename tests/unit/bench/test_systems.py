"""How the comparison starts the systems it measures."""

import json
import socket

from loadtests.bench.systems import BareVLLM, Engine, LLMFleet, RayServeLLM, ports_in_use

ENGINE = Engine(
    "tiny-qwen2",
    "/models/tiny-qwen2",
    {"dtype": "float32", "enforce_eager": True, "enable_prefix_caching": False, "max_num_seqs": 32},
)


def test_engine_arguments_become_vllm_serve_flags() -> None:
    assert ENGINE.vllm_cli_args() == [
        "--dtype",
        "float32",
        "--enforce-eager",
        "--no-enable-prefix-caching",
        "--max-num-seqs",
        "32",
    ]


def test_bare_vllm_serves_the_checkpoint_under_the_model_name() -> None:
    command = BareVLLM("vllm", "http://127.0.0.1:8100/v1", engine=ENGINE).start_command()

    assert command[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    assert command[command.index("--model") + 1] == "/models/tiny-qwen2"
    assert command[command.index("--served-model-name") + 1] == "tiny-qwen2"
    assert command[command.index("--port") + 1] == "8100"
    assert "--enforce-eager" in command


def test_ray_serve_llm_gets_the_same_engine_arguments() -> None:
    command = RayServeLLM(
        "ray-serve-llm", "http://127.0.0.1:8200/v1", engine=ENGINE
    ).start_command()

    assert command[1:3] == ["-m", "loadtests.bench.ray_serve_llm_app"]
    assert json.loads(command[command.index("--engine-kwargs") + 1]) == ENGINE.kwargs
    assert json.loads(command[command.index("--bundles") + 1]) == [{"CPU": 1}]


def test_ray_serve_llm_reserves_what_llm_fleet_reserves_for_the_engine() -> None:
    from loadtests.bench.ray_serve_llm_app import llm_config, parse_args

    on_gpu = Engine("m", "org/m", {}, bundles=[{"CPU": 1, "GPU": 1}, {"CPU": 1, "GPU": 1}])
    command = RayServeLLM("ray-serve-llm", "http://x/v1", engine=on_gpu).start_command()
    config = llm_config(parse_args(command[3:]))

    assert config.placement_group_config["bundles"] == on_gpu.bundles
    assert config.placement_group_config["strategy"] == "STRICT_PACK"


def test_llm_fleet_starts_from_its_config() -> None:
    command = LLMFleet("llm-fleet", "http://x/v1", config="bench.yaml").start_command()

    assert command[0].endswith("fleet") and command[1:] == ["up", "--config", "bench.yaml"]


def test_ports_in_use_finds_a_listener() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        assert ports_in_use([port]) == [port]
    assert ports_in_use([port]) == []


def test_ray_serve_llm_direct_path_runs_llm_server_as_the_ingress_behind_haproxy() -> None:
    stock = RayServeLLM("ray-serve-llm", "http://127.0.0.1:8200/v1", engine=ENGINE)
    direct = RayServeLLM(
        "ray-serve-llm-direct", "http://127.0.0.1:8200/v1", engine=ENGINE, direct=True
    )

    assert "--direct" in direct.start_command() and "--direct" not in stock.start_command()
    assert direct.start_env()["RAY_SERVE_LLM_ENABLE_DIRECT_STREAMING"] == "1"
    assert direct.start_env()["RAY_SERVE_ENABLE_HA_PROXY"] == "1"
    assert stock.start_env() == {}
