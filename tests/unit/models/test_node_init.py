"""A checkpoint already on the node skips Ray Serve LLM's download task; others keep it."""

from pathlib import Path
from types import SimpleNamespace

import pytest

from cluster.models.node_init import SkipDownloadForLocalCheckpoint


async def _runs_node_init(source: str) -> bool:
    llm_config = SimpleNamespace(model_loading_config=SimpleNamespace(model_source=source))
    callback = SkipDownloadForLocalCheckpoint(llm_config=llm_config)  # type: ignore[arg-type]
    await callback.run_callback("on_before_node_init")
    return callback.ctx.run_init_node


@pytest.mark.parametrize(
    ("source", "runs"),
    [
        ("mistralai/Mistral-7B-Instruct-v0.2", True),
        ("s3://bucket/models/mistral", True),
        ("/no/such/folder", True),
    ],
)
async def test_a_model_to_fetch_keeps_the_download_task(source: str, runs: bool) -> None:
    assert await _runs_node_init(source) is runs


async def test_a_local_checkpoint_skips_it(tmp_path: Path) -> None:
    assert await _runs_node_init(str(tmp_path)) is False
