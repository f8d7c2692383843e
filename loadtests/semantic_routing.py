"""Cost of one semantic routing decision for a 500-character prompt (target: p50 < 15 ms).

    .venv/bin/python loadtests/semantic_routing.py [--decisions 200] [--threads 1 2] [--serve]

Times ``RoutingTable.choose`` on the shipped config's ``support`` route: embedding the
prompt with all-MiniLM-L6-v2 plus the nearest-utterance match. In-process for each torch
thread count given; with ``--serve`` also the way the router does it, through a private Ray
instance's embedder deployment (never an existing cluster).
"""

from __future__ import annotations

import argparse
import asyncio
import time

from embedding import PROMPT
from timing import report

from cluster.config import load_config
from services.embedder.config import EmbedderConfig
from services.embedder.examples import Embedder, InProcessEmbedder
from services.embedder.model import SentenceEmbedder
from services.router.facts import request_facts
from services.router.requests import ChatCompletionRequest
from services.router.types import RoutingHints
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable

ROUTE = "support"
HINTS = RoutingHints(model=ROUTE)
FACTS = request_facts(
    ChatCompletionRequest(model=ROUTE, messages=[{"role": "user", "content": PROMPT}])
)


def support_table(embedder: Embedder) -> RoutingTable:
    routes = [route for route in load_config().routes if route.name == ROUTE]
    return RoutingTable(RoutingConfig(routes=routes), embedder=embedder)


async def time_decisions(table: RoutingTable, decisions: int) -> list[float]:
    for _ in range(5):  # embeds the utterances once, warms caches
        await table.choose(HINTS, FACTS)
    timings = []
    for _ in range(decisions):
        started = time.perf_counter()
        await table.choose(HINTS, FACTS)
        timings.append((time.perf_counter() - started) * 1000)
    return timings


def in_process(threads: int, decisions: int) -> None:
    embedder = InProcessEmbedder(SentenceEmbedder(threads=threads))
    timings = asyncio.run(time_decisions(support_table(embedder), decisions))
    report(f"in-process, {threads} thread(s)", timings)


def through_serve(threads: int, decisions: int) -> None:
    import ray
    from ray import serve

    from services.embedder.deployment import EMBEDDER_DEPLOYMENT, embedder_deployment
    from services.router.embedder_client import ServeEmbedder

    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(proxy_location="Disabled")
        app = embedder_deployment(EmbedderConfig(threads=threads))
        serve.run(app, name="semantic-bench", route_prefix=None)
        table = support_table(ServeEmbedder(EMBEDDER_DEPLOYMENT, "semantic-bench"))

        async def run() -> list[float]:
            return await time_decisions(table, decisions)

        report(f"through the embedder deployment, {threads} thread(s)", asyncio.run(run()))
    finally:
        serve.shutdown()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--decisions", type=int, default=200)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--serve", action="store_true")
    args = parser.parse_args()
    print(f"prompt: {len(PROMPT)} characters; route '{ROUTE}' of deploy/configs/local.yaml")
    for threads in args.threads:
        in_process(threads, args.decisions)
    if args.serve:
        for threads in args.threads:
            through_serve(threads, args.decisions)


if __name__ == "__main__":
    main()
