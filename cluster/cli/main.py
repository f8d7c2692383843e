"""The ``fleet`` command line: start, inspect and stop a cluster."""

from __future__ import annotations

import json
import os
import signal
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cluster.cli.adapters import adapters_app
from cluster.cli.failure import fail
from cluster.cli.finetune import finetune
from cluster.cli.guardrails import guardrails_app
from cluster.cli.keys import keys_app
from cluster.cli.operations import apply, scale, status
from cluster.cli.render import render_app
from cluster.cli.routes import routes_app
from cluster.cli.zoo import zoo_app

if TYPE_CHECKING:
    from cluster.config.schema import ClusterConfig
    from services.auth.keys import ApiKey

# vLLM logs platform notes at import (Triton and the like); they are noise in a CLI.
os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")

app = typer.Typer(
    help="llm-fleet: serve open LLMs on Ray Serve + vLLM.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
app.command()(status)
app.command()(scale)
app.command()(apply)
app.command()(finetune)
app.add_typer(zoo_app, name="zoo")
app.add_typer(routes_app, name="routes")
app.add_typer(guardrails_app, name="guardrails")
app.add_typer(render_app, name="render")
app.add_typer(keys_app, name="keys")
app.add_typer(adapters_app, name="adapters")

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Cluster config YAML (default: the embedded local one)."),
]
AddressOption = Annotated[
    str | None,
    typer.Option("--address", help="Join this running Ray cluster instead of starting one."),
]
STATE_FILE = Path(__file__).resolve().parents[2] / ".fleet" / "state.json"


def load_checked_config(config_path: Path | None):  # noqa: ANN201 - imports stay lazy
    from cluster.config import ConfigError, load_config
    from cluster.config.checks import check_config

    try:
        config = load_config(config_path)
        check_config(config, str(config_path or "the embedded default config"))
    except ConfigError as error:
        raise fail(str(error)) from None
    return config


@app.command()
def up(config: ConfigOption = None, address: AddressOption = None) -> None:
    """Start a local Ray (or join one), deploy every model and the router, wait until ready."""
    from cluster import launcher
    from cluster.cli.progress import ProgressPrinter

    cluster_config = load_checked_config(config)
    joined = address or cluster_config.ray.address
    ray_address = joined or launcher.running_ray_address()
    started_ray = ray_address is None
    if started_ray:
        cpus = cluster_config.ray.num_cpus
        typer.echo(
            "starting a local Ray instance "
            + (f"({cpus} logical CPUs)" if cpus is not None else "(every core of this machine)")
        )
        launcher.start_local_head(
            cluster_config.ray.num_cpus, cluster_config.telemetry.metrics.port
        )
        ray_address = "auto"
    _write_state({"started_ray": started_ray, "config": str(config or ""), "address": joined})

    def tear_down(*_: object) -> None:
        typer.echo("\ninterrupted: stopping the cluster")
        _down()
        sys.exit(130)

    signal.signal(signal.SIGINT, tear_down)
    signal.signal(signal.SIGTERM, tear_down)
    launcher.connect(ray_address)
    check_capacity(cluster_config, started_ray=started_ray)
    new_key = _first_key(cluster_config)
    names = [model.name for model in cluster_config.models]
    typer.echo(f"deploying {len(names)} models: {', '.join(names)}")
    try:
        endpoints = launcher.deploy(cluster_config, on_progress=ProgressPrinter(names))
    except launcher.DeployError as error:
        _down()
        raise fail(str(error)) from None
    typer.secho("llm-fleet is up", fg=typer.colors.GREEN)
    typer.echo(f"  OpenAI-compatible HTTP: {endpoints.http}")
    typer.echo(f"  gRPC:                   {endpoints.grpc}")
    if endpoints.grpc_tls is not None:
        typer.echo(f"  gRPC over TLS:          {endpoints.grpc_tls}")
    typer.echo(f"  Prometheus metrics:     {endpoints.metrics} (every node, this port)")
    typer.echo(f"  traces:                 {endpoints.traces}")
    typer.echo("  stop it with:           fleet down")
    _print_access(cluster_config, new_key)


def check_capacity(config: ClusterConfig, *, started_ray: bool) -> None:
    """Refuse models no node of a Ray started here can hold (nothing will add one); on a
    joined cluster say which wait for a node (an autoscaler may still add it)."""
    from cluster.capacity import node_resources, shortfalls

    short = shortfalls(config, node_resources())
    if short and started_ray:
        _down()
        raise fail(
            "; ".join(s.message() for s in short)
            + ". Run it where such a node is, or join a cluster that has one (--address)"
        )
    for shortfall in short:
        typer.secho(
            f"WARNING: {shortfall.message()}; its replicas wait until the cluster gains one",
            fg=typer.colors.YELLOW,
            err=True,
        )


def _first_key(config: ClusterConfig) -> ApiKey | None:
    from cluster.auth import first_key, key_file

    return first_key(key_file(config)) if config.auth.enabled else None


def _print_access(config: ClusterConfig, new_key: ApiKey | None) -> None:
    """How to call the cluster: the key made at this first start (shown only now), where
    keys are kept, or a warning that anyone may call."""
    from cluster.auth import key_file
    from services.auth.config import AUTH_OFF_WARNING

    if not config.auth.enabled:
        typer.secho(f"WARNING: {AUTH_OFF_WARNING}", fg=typer.colors.YELLOW, err=True)
        return
    if new_key is not None:
        typer.echo("\nan API key for tenant 'default', made at this first start; shown only now:")
        typer.secho(f"  {new_key.token}", bold=True)
        typer.echo("  send it as 'Authorization: Bearer <key>' (HTTP) or 'authorization' (gRPC)")
    typer.echo(f"  API keys (digests only): {key_file(config)}; more with `fleet keys create`")
    typer.echo("  operator commands (scale, apply, down) present the Ray token: ~/.ray/auth_token")


@app.command()
def down() -> None:
    """Stop the application and the Ray instance `fleet up` started."""
    _down()
    typer.echo("llm-fleet is down")


def _down() -> None:
    from cluster import launcher

    state = _read_state()
    address = launcher.running_ray_address(joined=joined_address())
    if address is not None:
        try:
            launcher.connect(address)
            launcher.undeploy()
        except Exception as error:
            typer.echo(f"could not stop Serve cleanly ({error}); stopping Ray")
    if state.get("started_ray", True):
        launcher.stop_local_ray()
    STATE_FILE.unlink(missing_ok=True)


def _write_state(state: dict) -> None:
    STATE_FILE.parent.mkdir(exist_ok=True)
    STATE_FILE.write_text(json.dumps(state))


def joined_address() -> str | None:
    """The Ray address `fleet up` joined, so later commands reach the same cluster."""
    return _read_state().get("address")


def _read_state() -> dict:
    try:
        return json.loads(STATE_FILE.read_text())
    except (OSError, ValueError):
        return {}
