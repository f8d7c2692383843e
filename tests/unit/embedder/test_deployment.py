"""The deployment without Ray: input checks and options.

Ray 2.60's ``serve.batch`` needs a replica context, so batched calls are exercised by
the integration tests (semantic routes) and ``loadtests/embedding.py --serve``.
"""

import pytest
from ray.serve.deployment import Application

from services.embedder import deployment
from services.embedder.config import EmbedderConfig
from services.embedder.deployment import (
    EmbedderDeployment,
    embedder_deployment,
    embedder_options,
)
from services.embedder.model import SentenceEmbedder
from services.errors import InvalidRequestError


@pytest.fixture
def replica(embedder: SentenceEmbedder, monkeypatch: pytest.MonkeyPatch) -> EmbedderDeployment:
    # The session's model stands in for the one __init__ would load.
    monkeypatch.setattr(deployment, "SentenceEmbedder", lambda **_: embedder)
    return EmbedderDeployment.func_or_class(EmbedderConfig())


@pytest.mark.parametrize("texts", [[], "one prompt", ["ok", None]])
async def test_bad_input_is_refused_before_batching(
    replica: EmbedderDeployment, texts: object
) -> None:
    with pytest.raises(InvalidRequestError):
        await replica.embed(texts)


def test_options_follow_the_config() -> None:
    config = EmbedderConfig(replicas=2, num_cpus=0.5, max_ongoing_requests=32)
    assert embedder_options(config) == {
        "num_replicas": 2,
        "max_ongoing_requests": 32,
        "ray_actor_options": {"num_cpus": 0.5},
    }


def test_builds_a_bound_application() -> None:
    assert isinstance(embedder_deployment(EmbedderConfig()), Application)
