import pytest

from services.embedder.model import SentenceEmbedder


@pytest.fixture(scope="session")
def embedder() -> SentenceEmbedder:
    # The real model, loaded once: about 4 s.
    return SentenceEmbedder(threads=1)
