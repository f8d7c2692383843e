"""`fleet render`: deployment manifests from a cluster config, to a file or stdout."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from cluster.cli.failure import fail

render_app = typer.Typer(
    help="Render deployment manifests (KubeRay RayService, Ray cluster launcher) from a config.",
    no_args_is_help=True,
)

ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="Cluster config YAML (default: the embedded local one)."),
]
OutputOption = Annotated[
    Path | None, typer.Option("--output", "-o", help="Write here instead of stdout.")
]


def _render(config_path: Path | None, output: Path | None, render: Callable) -> None:
    """Load (structurally only: rendering needs no model folders) and write the text."""
    from cluster.config import ConfigError, load_config
    from cluster.render.kuberay import RenderError

    try:
        config = load_config(config_path)
        text = render(config, str(config_path or "deploy/configs/local.yaml"))
    except (ConfigError, RenderError) as error:
        raise fail(str(error)) from None
    if output is None:
        typer.echo(text, nl=False)
    else:
        output.write_text(text)
        typer.echo(f"wrote {output}", err=True)


@render_app.command()
def kuberay(config: ConfigOption = None, output: OutputOption = None) -> None:
    """A KubeRay RayService (ray.io/v1) serving the config: `kubectl apply -f` it."""
    from cluster.render.kuberay import render_yaml

    _render(config, output, render_yaml)


@render_app.command()
def launcher(config: ConfigOption = None, output: OutputOption = None) -> None:
    """A Ray cluster launcher file (AWS VMs) for the config: `ray up` it."""
    from cluster.render.ray_launcher import render_launcher_yaml

    _render(config, output, render_launcher_yaml)
