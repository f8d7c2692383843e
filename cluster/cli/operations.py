"""``fleet status``, ``fleet scale`` and ``fleet apply``: operate a running cluster."""

from __future__ import annotations

import json
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from cluster.cli.failure import fail
from cluster.cli.route_lines import route_lines

if TYPE_CHECKING:
    from cluster.report import FleetStatus, ModelStatus, Replicas

JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


def connect_to_cluster() -> None:
    """Connect to the running cluster, or exit with a clear message."""
    from cluster import launcher
    from cluster.cli.main import joined_address
    from cluster.launcher import RAY_TOKEN_ENV

    address = launcher.running_ray_address(joined=joined_address())
    if address is None:
        raise fail("no Ray cluster is running here (start one with `fleet up`)")
    try:
        launcher.connect(address)
    except ConnectionError:
        raise fail(
            f"the Ray cluster at {address} did not let this command in: commands that change "
            "the cluster need its operator credential, the Ray cluster token "
            f"(~/.ray/auth_token of the user who ran `fleet up`, or {RAY_TOKEN_ENV}); "
            "API keys do not open it"
        ) from None


def _replicas_text(replicas: Replicas) -> str:
    text = f"{replicas.running}/{replicas.target} running"
    extra = [
        f"{count} {word}"
        for word, count in (
            ("starting", replicas.starting),
            ("stopping", replicas.stopping),
            ("failed", replicas.failed),
        )
        if count
    ]
    return ", ".join([text, *extra])


def _scaling_text(scaling: dict) -> str:
    if scaling["mode"] == "fixed":
        return f"fixed {scaling['replicas']}"
    return (
        f"auto {scaling['min_replicas']}-{scaling['max_replicas']} "
        f"@{scaling['target_ongoing_requests']:g}"
    )


def _model_line(model: ModelStatus) -> str:
    resources = " ".join(
        f"{name}={amount:g}" for name, amount in model.resources_per_replica.items()
    )
    ongoing = "?" if model.ongoing_requests is None else str(model.ongoing_requests)
    return (
        f"  {model.name:<22} {model.status:<12} {_replicas_text(model.replicas):<30} "
        f"{_scaling_text(model.scaling):<14} {model.tensor_parallel_size:>2} "
        f"{resources:<18} {ongoing:>7}  {', '.join(model.nodes) or '-'}"
    )


def status_lines(status: FleetStatus) -> list[str]:
    lines = [f"llm-fleet: {status.status}", ""]
    lines.append(
        f"  {'MODEL':<22} {'STATUS':<12} {'REPLICAS':<30} {'SCALING':<14} {'TP':>2} "
        f"{'PER REPLICA':<18} {'ONGOING':>7}  NODES"
    )
    lines += [_model_line(model) for model in status.models]
    for model in status.models:
        if model.adapters:
            lines.append(f"  + {model.name} adapters: {', '.join(model.adapters)}")
        if model.message and model.status != "HEALTHY":
            lines.append(f"  ! {model.name}: {model.message}")
    lines.append("")
    lines += [
        f"  {service.name:<22} {service.status:<12} {_replicas_text(service.replicas)}"
        for service in status.services
    ]
    if status.routes:
        lines += ["", "routes:"]
        for route in status.routes:
            lines += [f"  {line}" for line in route_lines(route)]
    return lines


def status(as_json: JsonOption = False) -> None:
    """Per model: replicas (running, starting, failed), scaling, tensor-parallel size,
    resources per replica, requests in flight, nodes. Per route: its weights."""
    from cluster.report import collect_status

    connect_to_cluster()
    report = collect_status()
    if report.status == "NOT_DEPLOYED":
        raise fail("llm-fleet is not deployed on this Ray cluster")
    if as_json:
        typer.echo(json.dumps(asdict(report), indent=2))
        return
    typer.echo("\n".join(status_lines(report)))


def scale(
    model: Annotated[str, typer.Argument(help="The served model's name.")],
    replicas: Annotated[int | None, typer.Option("--replicas", help="A fixed count.")] = None,
    min_replicas: Annotated[int | None, typer.Option("--min", help="Autoscaling floor.")] = None,
    max_replicas: Annotated[int | None, typer.Option("--max", help="Autoscaling ceiling.")] = None,
    target_ongoing: Annotated[
        float | None,
        typer.Option("--target-ongoing", help="Requests per replica autoscaling aims for."),
    ] = None,
    upscale_delay: Annotated[
        float | None, typer.Option("--upscale-delay", help="Seconds of load before adding.")
    ] = None,
    downscale_delay: Annotated[
        float | None, typer.Option("--downscale-delay", help="Seconds idle before removing.")
    ] = None,
    look_back: Annotated[
        float | None, typer.Option("--look-back", help="Seconds of load averaged per decision.")
    ] = None,
    wait: Annotated[bool, typer.Option(help="Wait until the replicas match.")] = True,
    as_json: JsonOption = False,
) -> None:
    """Scale MODEL on the running cluster, live: replicas that stay keep serving.

    Lasts until the next `fleet apply`; put it in the config file to keep it.
    """
    from cluster.launcher import DeployError
    from cluster.scaling import ScaleChange, ScaleError, scale_model, scaled_override

    change = ScaleChange(
        replicas=replicas,
        min_replicas=min_replicas,
        max_replicas=max_replicas,
        target_ongoing_requests=target_ongoing,
        upscale_delay_s=upscale_delay,
        downscale_delay_s=downscale_delay,
        look_back_period_s=look_back,
    )
    try:
        scaled_override({}, change)  # a change that is wrong whatever runs fails here
    except ScaleError as error:
        raise fail(str(error)) from None
    connect_to_cluster()
    try:
        override = scale_model(model, change, wait=wait)
    except DeployError as error:
        raise fail(str(error)) from None
    from cluster.report import scaling_of

    scaling = scaling_of(override)
    if as_json:
        typer.echo(json.dumps({"model": model, "scaling": scaling}))
        return
    typer.secho(f"{model}: {_scaling_text(scaling)}", fg=typer.colors.GREEN)


def apply(
    config: Annotated[Path, typer.Argument(help="The cluster config to run.")],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would change, change nothing.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Make the running cluster run CONFIG: add, remove and restart only the models whose
    engine or placement changed (rolling), scale the rest in place, reload routes and
    guardrail policies live."""
    from cluster import rollout
    from cluster.cli.main import check_capacity, load_checked_config
    from cluster.launcher import DeployError

    cluster_config = load_checked_config(config)
    connect_to_cluster()
    check_capacity(cluster_config, started_ray=False)
    try:
        plan = rollout.plan_config(cluster_config)
        if not dry_run:
            if not as_json:
                typer.echo("\n".join(plan.lines()))
            plan = rollout.apply_config(cluster_config)
    except DeployError as error:
        raise fail(str(error)) from None
    if as_json:
        typer.echo(json.dumps({"applied": not dry_run, **asdict(plan)}))
    elif dry_run:
        typer.echo("\n".join(plan.lines()))
    else:
        typer.secho(f"applied {config}", fg=typer.colors.GREEN)
