"""llm-fleet running from a config for the length of a benchmark (chaos, overload, soak)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from cluster.config import ClusterConfig
from loadtests.bench.compare import bench_key
from loadtests.bench.systems import LLMFleet

RESULTS = Path(__file__).parent / "results"


@contextmanager
def running_fleet(config_path: Path, config: ClusterConfig, results: str) -> Iterator[None]:
    """``fleet up --config config_path``, a key of the tenant ``bench`` in ``FLEET_API_KEY``;
    ``fleet down`` and the key revoked afterwards. ``fleet up``'s log goes to
    ``loadtests/results/<results>/``."""
    fleet = LLMFleet(
        name="llm-fleet", base_url=f"http://127.0.0.1:{config.http.port}/v1", config=config_path
    )
    with bench_key(config):
        print(f"starting llm-fleet from {config_path} ...", file=sys.stderr, flush=True)
        fleet.start(config.models[0].name, RESULTS / results)
        try:
            yield
        finally:
            fleet.stop()
