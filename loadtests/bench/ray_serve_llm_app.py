"""Ray Serve LLM's own OpenAI app (``build_openai_app``), stock, for the comparison.

    python -m loadtests.bench.ray_serve_llm_app --model NAME --source PATH --port 8200 \\
        --engine-kwargs '{"dtype": "float32", ...}'

Starts a local Ray, serves one model with Ray's defaults (its ingress, its LLMServer, its
stream batching), and runs until interrupted, then stops Ray. Only the placement differs
from the defaults, exactly as llm-fleet sets it: the engine's bundles as llm-fleet
reserves them (``--bundles``; one CPU on a CPU machine) and no CPU reserved by the replica
actors, on 8 logical CPUs (with Ray's default of one CPU per actor the ingress never
schedules on two cores).
"""

from __future__ import annotations

import argparse
import json
import signal
import threading
from collections.abc import Sequence

import ray
from ray import serve
from ray.serve.llm import LLMConfig, build_openai_app


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--model", required=True, help="served model name")
    parser.add_argument("--source", required=True, help="checkpoint path or hub id")
    parser.add_argument("--port", type=int, default=8200)
    parser.add_argument("--engine-kwargs", type=json.loads, default={})
    parser.add_argument("--bundles", type=json.loads, default=[{"CPU": 1}])
    parser.add_argument("--num-cpus", type=int, default=8)
    parser.add_argument(
        "--direct",
        action="store_true",
        help="LLMServer as the ingress (run with systems.RAY_DIRECT_PATH_ENV set)",
    )
    return parser.parse_args(argv)


def llm_config(args: argparse.Namespace) -> LLMConfig:
    return LLMConfig(
        model_loading_config={"model_id": args.model, "model_source": args.source},
        engine_kwargs=args.engine_kwargs,
        placement_group_config={"bundles": args.bundles, "strategy": "STRICT_PACK"},
        deployment_config={"ray_actor_options": {"num_cpus": 0}},
    )


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    stop = threading.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stop.set())
    ray.init(num_cpus=args.num_cpus, include_dashboard=False, log_to_driver=False)
    try:
        serve.start(http_options={"host": "127.0.0.1", "port": args.port})
        builder: dict[str, object] = {"llm_configs": [llm_config(args)]}
        if not args.direct:
            # Direct streaming has no separate ingress (it refuses this setting).
            builder["ingress_deployment_config"] = {"ray_actor_options": {"num_cpus": 0}}
        app = build_openai_app(builder)
        serve.run(app, blocking=False)
        print(f"serving {args.model} on http://127.0.0.1:{args.port}/v1", flush=True)
        stop.wait()
    finally:
        # Stopping the local Ray stops Serve and the engine with it, without Serve's
        # graceful drain (~30 s here): nothing is in flight once the comparison stops us.
        ray.shutdown()


if __name__ == "__main__":
    main()
