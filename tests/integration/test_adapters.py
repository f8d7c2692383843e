"""The customization loop on the real stack: a LoRA adapter fine-tuned here, served beside
its base model on the base's running replicas, added and removed live, A/B tested."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import openai
import pytest

from cluster.config.lora import AdapterConfig
from cluster.config.schema import ClusterConfig, deployment_name
from cluster.finetune.base import resolve_base
from cluster.finetune.data import load_data
from cluster.finetune.options import FinetuneOptions
from cluster.finetune.remote import finetune_on_cluster
from cluster.finetune.trainer import finetune
from cluster.rollout import apply_config, plan_config
from cluster.zoo import zoo_path
from services.client import FleetClient
from services.routing.config import SplitRouteConfig, VariantConfig
from tests.integration.conftest import RunningCluster
from tests.integration.test_operations import StreamingLoad, _replica_ids
from tests.support.finetune_data import (
    ANSWER,
    STATUS_OPTIONS,
    status_question,
    write_status_data,
)

BASE = "tiny-qwen2"
ADAPTER = f"{BASE}:status"
AB = SplitRouteConfig(
    name="status-ab",
    description="the base model against its fine-tune",
    variants=[
        VariantConfig(name="base", model=BASE, weight=50),
        VariantConfig(name="tuned", model=ADAPTER, weight=50),
    ],
)
# Far past the training set's cluster indexes: names the adapter never saw.
UNSEEN = status_question(1001)
# The answer's opening: 6 greedy tokens of the tiny tokenizer cover it.
OPENING = ANSWER[:12]


@pytest.fixture(scope="module")
def adapter_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("adapters")
    data = write_status_data(folder / "status.jsonl")
    options = FinetuneOptions(**STATUS_OPTIONS)  # type: ignore[arg-type]
    manifest = finetune(data, str(zoo_path(BASE)), folder / "status", options)
    assert manifest.training.final_loss < manifest.training.first_epoch_loss / 2
    return folder / "status"


def with_adapters(
    config: ClusterConfig, adapters: list[AdapterConfig], routes: list | None = None
) -> ClusterConfig:
    models = []
    for model in config.models:
        if model.name == BASE:
            assert model.lora is not None, "the default config serves tiny-qwen2 with LoRA"
            model = model.model_copy(
                update={"lora": model.lora.model_copy(update={"adapters": adapters})}
            )
        models.append(model)
    return config.model_copy(update={"models": models, "routes": routes or config.routes})


@pytest.fixture(scope="module")
def served_adapter(cluster: RunningCluster, adapter_folder: Path) -> Iterator[ClusterConfig]:
    config = with_adapters(
        cluster.config,
        [AdapterConfig(name="status", path=str(adapter_folder))],
        routes=[*cluster.config.routes, AB],
    )
    before = _replica_ids()
    plan = plan_config(config)
    assert plan.readapted == [deployment_name(BASE)]
    assert not plan.restarted and not plan.rescaled
    apply_config(config)
    # Nothing restarted: the base model's engine serves the adapter.
    assert _replica_ids() == before
    yield config
    apply_config(cluster.config)


def chat(client: openai.OpenAI, model: str, **extra: object) -> str:
    answer = client.chat.completions.create(
        model=model,
        messages=[{"role": "user", "content": UNSEEN}],
        max_tokens=6,
        temperature=0,
        **extra,  # type: ignore[arg-type]
    )
    return answer.choices[0].message.content or ""


def test_the_adapter_answers_as_trained_and_the_base_does_not(
    client: openai.OpenAI, served_adapter: ClusterConfig
) -> None:
    tuned = chat(client, ADAPTER)
    base = chat(client, BASE)
    assert tuned.startswith(OPENING), tuned
    assert not base.startswith(OPENING)
    assert tuned != base


def test_the_adapter_is_listed_and_reachable_over_grpc(
    client: openai.OpenAI,
    grpc_client: FleetClient,
    served_adapter: ClusterConfig,
    adapter_folder: Path,
) -> None:
    cards = {card.id: card for card in client.models.list().data}
    assert cards[ADAPTER].model_extra["parent"] == BASE
    assert cards[ADAPTER].model_extra["root"] == str(adapter_folder)
    assert {m.id: m.parent for m in grpc_client.list_models()}[ADAPTER] == BASE
    answer = grpc_client.generate(
        model=ADAPTER, messages=[{"role": "user", "content": UNSEEN}], max_tokens=6, temperature=0
    )
    assert answer.text.startswith(OPENING), answer.text


def test_an_ab_route_splits_keyed_traffic_between_base_and_adapter(
    client: openai.OpenAI, served_adapter: ClusterConfig
) -> None:
    arms: Counter[str] = Counter()
    for n in range(24):
        raw = client.chat.completions.with_raw_response.create(
            model=AB.name,
            messages=[{"role": "user", "content": UNSEEN}],
            max_tokens=6,
            temperature=0,
            extra_headers={"x-fleet-routing-key": f"user-{n}"},
        )
        body = raw.parse()
        arm = raw.headers["x-fleet-variant"]
        arms[arm] += 1
        assert body.model == {"base": BASE, "tuned": ADAPTER}[arm]
        assert (body.choices[0].message.content or "").startswith(OPENING) == (arm == "tuned")
    # 24 keys at 50/50: both arms get a real share.
    assert arms["base"] >= 4 and arms["tuned"] >= 4, arms


def test_adapters_come_and_go_under_streaming_load_without_failing_a_request(
    cluster: RunningCluster, served_adapter: ClusterConfig, adapter_folder: Path
) -> None:
    second = AdapterConfig(name="status-2", path=str(adapter_folder))
    added = with_adapters(
        served_adapter,
        [AdapterConfig(name="status", path=str(adapter_folder)), second],
    )
    before = _replica_ids()
    with StreamingLoad(cluster, [BASE, ADAPTER], threads=2) as load:
        started = time.monotonic()
        apply_config(added)
        with openai.OpenAI(base_url=cluster.endpoints.http, api_key=cluster.keys["tests"]) as c:
            assert chat(c, f"{BASE}:status-2").startswith(OPENING)
        apply_config(served_adapter)
        print(f"adapter added and removed under load: {time.monotonic() - started:.1f} s")
        with (
            openai.OpenAI(base_url=cluster.endpoints.http, api_key=cluster.keys["tests"]) as c,
            pytest.raises(openai.NotFoundError, match="status-2"),
        ):
            chat(c, f"{BASE}:status-2")
        time.sleep(1)
    assert load.problems == []
    assert load.completed > 4
    assert _replica_ids() == before


def test_a_fine_tune_runs_as_a_ray_task_on_the_cluster(
    cluster: RunningCluster, tmp_path: Path
) -> None:
    data = load_data(write_status_data(tmp_path / "status.jsonl"))
    options = FinetuneOptions(**STATUS_OPTIONS)  # type: ignore[arg-type]
    out = tmp_path / "remote"
    manifest = finetune_on_cluster(data, resolve_base(f"zoo:{BASE}"), out, options)
    assert (out / "adapter_model.safetensors").is_file()
    assert manifest.base.source == f"zoo:{BASE}"
    assert manifest.training.final_loss < manifest.training.first_epoch_loss / 2
