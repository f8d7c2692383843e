"""`fleet zoo`: build and inspect the generated model zoo."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from cluster.zoo import (
    FAMILIES,
    BuildResult,
    build_zoo,
    get_family,
    is_complete,
    zoo_path,
    zoo_root,
)
from cluster.zoo.judge.evaluate import read_summary

NAME_WIDTH = max(len(family.name) for family in FAMILIES)

zoo_app = typer.Typer(
    help="The generated tiny checkpoints that stand in for real model weights.",
    no_args_is_help=True,
)

RootOption = Annotated[
    Path | None,
    typer.Option("--root", help="Zoo folder (default: $FLEET_ZOO_DIR or <repo>/models/zoo)."),
]


def _check_names(names: list[str]) -> None:
    for name in names:
        try:
            get_family(name)
        except KeyError as error:
            raise typer.BadParameter(error.args[0], param_hint="--only") from None


@zoo_app.command("build")
def build(
    root: RootOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Zoo seed; same seed, same bytes.")] = 0,
    only: Annotated[
        list[str] | None,
        typer.Option("--only", help="Build just this family (repeatable)."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if up to date.")] = False,
    quiet: Annotated[bool, typer.Option("--quiet", "-q", help="Print nothing.")] = False,
) -> None:
    """Build every family (or those given with --only); skip the ones already up to date."""
    _check_names(only or [])

    def report(result: BuildResult) -> None:
        if not quiet:
            status = "built" if result.built else "up to date"
            line = f"{result.family.name:<{NAME_WIDTH}} {status:<11} {result.path}"
            # A fine-tuned family says how well it learned (its held-out accuracy).
            summary = read_summary(result.path) if result.family.fine_tune else None
            typer.echo(f"{line}  ({summary})" if summary else line)

    build_zoo(root, seed=seed, only=only or None, force=force, on_result=report)


@zoo_app.command("list")
def list_families(
    root: RootOption = None,
    seed: Annotated[int, typer.Option("--seed", help="Seed to check builds against.")] = 0,
) -> None:
    """List the families, their architecture, the real model each stands in for, and state."""
    base = root if root is not None else zoo_root()
    for family in FAMILIES:
        state = "built" if is_complete(base / family.name, family, seed) else "not built"
        name = f"{family.name:<{NAME_WIDTH}}"
        typer.echo(f"{name} {family.architecture:<20} {family.stands_in_for:<38} {state}")


@zoo_app.command("path")
def path(
    name: Annotated[str, typer.Argument(help="Family name, e.g. tiny-qwen2.")],
    root: RootOption = None,
) -> None:
    """Print a family's folder, for scripts: --model "$(fleet zoo path tiny-qwen2)"."""
    try:
        typer.echo(zoo_path(name, root))
    except KeyError as error:
        raise typer.BadParameter(error.args[0], param_hint="NAME") from None
