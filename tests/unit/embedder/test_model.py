import numpy as np
import pytest
import torch

from services.embedder.model import DIMENSION, MAX_MODEL_CHARS, SentenceEmbedder, resolve_dtype

PARAPHRASES = ("How do I reset my password?", "I forgot my password, how can I change it?")
UNRELATED = "The quarterly revenue of the payments team grew by twelve percent."


def test_one_unit_length_float32_row_per_text(embedder: SentenceEmbedder) -> None:
    vectors = embedder.embed(["one", "two words", ""])
    assert vectors.shape == (3, DIMENSION)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)


def test_paraphrases_are_closer_than_unrelated_text(embedder: SentenceEmbedder) -> None:
    first, second, other = embedder.embed([*PARAPHRASES, UNRELATED])
    assert first @ second > 0.7
    assert first @ second > first @ other + 0.4


def test_same_texts_give_the_same_vectors(embedder: SentenceEmbedder) -> None:
    texts = [*PARAPHRASES, UNRELATED]
    np.testing.assert_array_equal(embedder.embed(texts), embedder.embed(texts))


def test_a_text_alone_matches_itself_in_a_batch(embedder: SentenceEmbedder) -> None:
    # Padding beside longer texts must not move a short text's vector.
    alone = embedder.embed([PARAPHRASES[0]])[0]
    batched = embedder.embed([UNRELATED, PARAPHRASES[0]])[1]
    assert alone @ batched > 0.999


def test_no_texts_give_an_empty_matrix(embedder: SentenceEmbedder) -> None:
    assert embedder.embed([]).shape == (0, DIMENSION)


def test_text_beyond_what_the_model_reads_is_ignored(embedder: SentenceEmbedder) -> None:
    prompt = "Route this prompt to the cheapest model that can answer it. " * 80
    assert len(prompt) > MAX_MODEL_CHARS
    long, clipped = embedder.embed([prompt + "x" * 100_000, prompt[:MAX_MODEL_CHARS]])
    np.testing.assert_array_equal(long, clipped)


@pytest.mark.parametrize(
    ("precision", "dtype"), [("float32", torch.float32), ("bfloat16", torch.bfloat16)]
)
def test_named_precision_is_taken_as_given(precision: str, dtype: torch.dtype) -> None:
    assert resolve_dtype(precision) is dtype


def test_auto_precision_is_bfloat16_or_float32() -> None:
    assert resolve_dtype("auto") in {torch.float32, torch.bfloat16}
