"""How every `fleet` command refuses: the message in red on stderr, exit code 2."""

from __future__ import annotations

import typer


def fail(message: str) -> typer.Exit:
    """The exit to raise after printing ``message``."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    return typer.Exit(code=2)
