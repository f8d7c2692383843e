"""llm-fleet running from a config for the length of a benchmark (chaos, overload, soak)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psutil
import ray

from cluster.config import ClusterConfig
from loadtests.bench.compare import bench_key
from loadtests.bench.systems import LLMFleet

RESULTS = Path(__file__).parent / "results"


def actor_processes(marker: str) -> list[psutil.Process]:
    """This machine's Ray actor processes whose class name contains ``marker``. Ray titles an
    actor's process ``ray::<class name>`` (Serve replicas: ``ServeReplica:<app>:<deployment>``),
    so no dashboard is needed (`fleet up` starts Ray without one)."""
    found = []
    for process in psutil.process_iter(["cmdline"]):
        title = " ".join(process.info["cmdline"] or ())
        if title.startswith("ray::") and marker in title:
            found.append(process)
    return found


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
            # Disconnect first: once `fleet down` stops the Ray head, Ray's core worker in a
            # still-connected process ends that process (and its traceback) within a minute.
            if ray.is_initialized():
                ray.shutdown()
            fleet.stop()
