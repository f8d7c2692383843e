"""``fleet routes``: see and change the routes of a running cluster, live."""

from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cluster.cli.failure import fail
from cluster.cli.route_lines import route_lines, stats_lines

if TYPE_CHECKING:
    from ray.serve.handle import DeploymentHandle

routes_app = typer.Typer(
    help="Show or change routes (splits, rules, semantic) on the running cluster."
)


def connected_router() -> DeploymentHandle:
    from ray import serve

    from cluster.cli.operations import connect_to_cluster
    from cluster.status import APP_NAME, ROUTER_DEPLOYMENT

    connect_to_cluster()
    return serve.get_deployment_handle(ROUTER_DEPLOYMENT, app_name=APP_NAME)


@routes_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The routes the router applies now, with their weights."""
    routing = connected_router().routing_config.remote().result()
    if as_json:
        typer.echo(json.dumps(routing, indent=2))
        return
    if not routing["routes"]:
        typer.echo("no routes: requests name models directly")
    for route in routing["routes"]:
        typer.echo("\n".join(route_lines(route)))


@routes_app.command("stats")
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Requests per route, variant and model; fallbacks; shadow latency and tokens.

    Counters of one router replica, since it started.
    """
    snapshot = connected_router().routing_stats.remote().result()
    if as_json:
        typer.echo(json.dumps(snapshot, indent=2))
        return
    typer.echo("\n".join(stats_lines(snapshot)))


@routes_app.command("apply")
def apply(
    config: Annotated[Path, typer.Argument(help="The cluster config with the new routes.")],
) -> None:
    """Apply the routes of CONFIG to the running cluster without restarting any model.

    Everything but `routes` and the router's live settings (max_attempts,
    first_token_timeout_s, circuit_breaker) must match the running cluster.
    """
    from cluster import rollout
    from cluster.cli.main import load_checked_config
    from cluster.launcher import DeployError

    cluster_config = load_checked_config(config)
    connected_router()
    try:
        rollout.apply_routes(cluster_config)
    except DeployError as error:
        raise fail(str(error)) from None
    typer.secho(f"routes applied from {config}", fg=typer.colors.GREEN)
    show(as_json=False)
