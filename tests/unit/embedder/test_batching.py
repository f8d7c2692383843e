import numpy as np

from services.embedder.batching import embed_batches


def test_one_model_run_and_each_caller_gets_its_own_rows() -> None:
    runs: list[list[str]] = []

    def embed(texts: list[str]) -> np.ndarray:
        runs.append(texts)
        return np.array([[float(len(text))] for text in texts], dtype=np.float32)

    results = embed_batches(embed, [["a", "bb"], ["ccc"], ["dddd", "e", "ff"]])
    assert runs == [["a", "bb", "ccc", "dddd", "e", "ff"]]
    assert results == [[[1.0], [2.0]], [[3.0]], [[4.0], [1.0], [2.0]]]
