"""``fleet guardrails``: the guard policies a running cluster applies, and what they decided."""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer

from cluster.cli.routes import connected_router

guardrails_app = typer.Typer(
    help="Show the guard policies of the running cluster and their decisions "
    "(change them with `fleet routes apply`)."
)

# Fields every check has; the rest are what the check kind is about.
_COMMON = {"name", "type", "on", "action", "timeout_ms", "fail", "description"}


def _setting(value: Any) -> str:
    """A check's setting in a few words: long lists and maps by their size."""
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key}: {_setting(item)}" for key, item in value.items()) + "}"
    if isinstance(value, list) and len(str(value)) > 40:
        return f"[{len(value)} items]"
    return str(value)


def _binding(value: str | list[str]) -> str:
    return value if isinstance(value, str) else " + ".join(value)


def policy_lines(config: dict[str, Any]) -> list[str]:
    if not config["policies"]:
        return ["no guard policies: requests are not checked"]
    lines = []
    for policy in config["policies"]:
        lines.append(f"{policy['name']}: {policy.get('description', '')}".rstrip(": "))
        for check in policy["checks"]:
            name = check.get("name") or check["type"]
            settings = ", ".join(
                f"{key}={_setting(value)}" for key, value in check.items() if key not in _COMMON
            )
            lines.append(
                f"  {name:<18} {check['type']:<17} on {check['on']:<6} {check['action']:<6} "
                f"fail {check['fail']:<6} {check['timeout_ms']:g} ms  {settings}".rstrip()
            )
    lines.append(f"default: {_binding(config['default']) if config['default'] else 'none'}")
    for kind in ("routes", "tenants"):
        for key, value in config[kind].items():
            lines.append(f"{kind[:-1]} {key}: {_binding(value)}")
    return lines


def decision_lines(snapshot: dict[str, Any]) -> list[str]:
    decisions = snapshot["decisions"]
    if not decisions:
        return ["no guard decisions yet"]
    header = f"{'route':<16} {'check':<18} {'category':<20} {'action':<12} {'count':>7}"
    rows = [
        f"{d['route']:<16} {d['check']:<18} {d['category']:<20} {d['action']:<12} {d['count']:>7}"
        for d in decisions
    ]
    return [header, *rows]


@guardrails_app.command("show")
def show(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """The guard policies the router applies now and where they are bound."""
    config = connected_router().guardrails_config.remote().result()
    typer.echo(json.dumps(config, indent=2) if as_json else "\n".join(policy_lines(config)))


@guardrails_app.command("stats")
def stats(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Guard decisions by route, check, category and action (blocks, redactions, flags,
    failed checks), counted by one router replica since it started."""
    snapshot = connected_router().guardrail_stats.remote().result()
    typer.echo(json.dumps(snapshot, indent=2) if as_json else "\n".join(decision_lines(snapshot)))
