"""Sentence-embedding latency: a 500-character prompt alone, and a batch of 8 of them.

    .venv/bin/python loadtests/embedding.py [--iterations 200] [--threads 1]
        [--backend onnx-int8|torch] [--precision auto]
    .venv/bin/python loadtests/embedding.py --serve [--wait-ms 0 2] [--callers 8]

In-process it times ``SentenceEmbedder.embed`` (the target: p50 under 15 ms for one prompt).
``--serve`` also starts a private Ray instance (never an existing cluster, no HTTP proxy)
with only the embedder deployment and times ``DeploymentHandle`` calls, for each batch
wait given: one caller at a time, then N concurrent callers of one prompt each.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from timing import report, time_calls

from services.embedder.config import EmbedderConfig
from services.embedder.model import SentenceEmbedder

# A realistic routing input: a user prompt of exactly 500 characters (about 100 tokens).
PROMPT = (
    "Our payments service started returning intermittent 502 errors after yesterday's "
    "deploy. The load balancer health checks pass, but roughly one request in forty fails "
    "with an upstream reset. We rolled back the application image and the errors continue, "
    "so I suspect the new connection-pool settings in the sidecar proxy. Can you explain "
    "how to confirm that from the proxy's access logs and metrics, which settings usually "
    "cause this, and what a safe rollout plan for a fix would look like? Keep it short."
)[:500]


def in_process(args: argparse.Namespace) -> None:
    started = time.perf_counter()
    embedder = SentenceEmbedder(
        threads=args.threads, backend=args.backend, precision=args.precision
    )
    print(f"model loaded and warmed up in {time.perf_counter() - started:.1f} s ({args.backend})")
    # A short question too, for scale: cost grows with the tokens embedded.
    for size, chars in ((1, 500), (8, 500), (1, 100)):
        texts = [PROMPT[:chars]] * size
        time_calls(lambda texts=texts: embedder.embed(texts), 5)
        timings = time_calls(lambda texts=texts: embedder.embed(texts), args.iterations)
        report(f"in-process, {size} x {chars} chars", timings)


async def time_handle(handle: object, callers: int, iterations: int) -> tuple[list[float], float]:
    timings: list[float] = []

    async def caller(calls: int) -> None:
        for _ in range(calls):
            started = time.perf_counter()
            await handle.embed.remote([PROMPT])
            timings.append((time.perf_counter() - started) * 1000)

    started = time.perf_counter()
    await asyncio.gather(*(caller(iterations // callers) for _ in range(callers)))
    return timings, len(timings) / (time.perf_counter() - started)


def through_serve(args: argparse.Namespace) -> None:
    import ray
    from ray import serve

    from services.embedder.deployment import embedder_deployment

    # "local" always starts a new private instance, so a cluster someone else runs is safe.
    ray.init(address="local", num_cpus=4, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(proxy_location="Disabled")
        for wait_ms in args.wait_ms:
            config = EmbedderConfig(
                threads=args.threads,
                backend=args.backend,
                precision=args.precision,
                batch_wait_timeout_s=wait_ms / 1000,
            )
            app = embedder_deployment(config)
            handle = serve.run(app, name="embedding-bench", route_prefix=None)
            asyncio.run(time_handle(handle, 1, 20))  # warm-up
            for callers in (1, args.callers):
                timings, rate = asyncio.run(time_handle(handle, callers, args.iterations))
                label = f"serve, wait {wait_ms:g} ms, {callers} caller(s) x 1 prompt"
                report(label, timings, f"{rate:6.1f} calls/s")
    finally:
        serve.shutdown()
        ray.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--backend", choices=["onnx-int8", "torch"], default="onnx-int8")
    parser.add_argument("--precision", choices=["auto", "float32", "bfloat16"], default="auto")
    parser.add_argument("--serve", action="store_true", help="also measure through Ray Serve")
    parser.add_argument("--wait-ms", type=float, nargs="+", default=[0, 2])
    parser.add_argument("--callers", type=int, default=8, help="concurrent callers (--serve)")
    args = parser.parse_args()
    in_process(args)
    if args.serve:
        through_serve(args)


if __name__ == "__main__":
    main()
