"""``fleet keys``: create, list and revoke API keys.

Keys live in a key file (``.fleet/keys.json`` by default) as digests; a new key's secret is
printed once and never stored.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from cluster.auth import DEFAULT_KEY_FILE
from cluster.cli.failure import fail
from services.auth.store import KeyStore, UnknownKeyError

keys_app = typer.Typer(help="Create, list and revoke API keys (tenant and operator keys).")

KeyFileOption = Annotated[Path, typer.Option("--file", help="The key file.", show_default=True)]


@keys_app.command("create")
def create(
    tenant: Annotated[
        str | None, typer.Option("--tenant", help="The tenant the key acts for.")
    ] = None,
    operator: Annotated[
        bool, typer.Option("--operator", help="An operator key (cluster verbs), no tenant.")
    ] = False,
    name: Annotated[str, typer.Option("--name", help="A label: who or what uses it.")] = "",
    key_file: KeyFileOption = DEFAULT_KEY_FILE,
) -> None:
    """Make a key and print it once: only its digest is kept."""
    if operator == bool(tenant):
        raise fail("give exactly one of --tenant NAME or --operator")
    issued, record = KeyStore(key_file).create(
        role="operator" if operator else "tenant", tenant=tenant, name=name
    )
    who = "operator" if operator else f"tenant {tenant}"
    typer.echo(f"created key {record.key_id} for {who}; it is shown only now:\n")
    typer.echo(f"  {issued.token}\n")
    typer.echo(f"stored (as a digest) in {key_file}")


@keys_app.command("list")
def list_keys(
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
    key_file: KeyFileOption = DEFAULT_KEY_FILE,
) -> None:
    """Every key's id, role, tenant, name and dates; never a secret."""
    records = KeyStore(key_file).records()
    if as_json:
        public = [r.model_dump(mode="json", exclude={"secret_sha256"}) for r in records]
        typer.echo(json.dumps(public, indent=2))
        return
    if not records:
        typer.echo(f"no keys in {key_file}: create one with `fleet keys create --tenant NAME`")
        return
    for r in records:
        state = "active" if r.active else f"revoked {r.revoked_at:%Y-%m-%d %H:%M}"
        typer.echo(
            f"{r.key_id}  {r.role:<8}  {r.tenant or '-':<16}  {r.name or '-':<20}  "
            f"created {r.created_at:%Y-%m-%d %H:%M}  {state}"
        )


@keys_app.command("revoke")
def revoke(
    key_id: Annotated[str, typer.Argument(help="The key's id (see `fleet keys list`).")],
    key_file: KeyFileOption = DEFAULT_KEY_FILE,
) -> None:
    """Revoke a key: it stops authenticating."""
    try:
        record = KeyStore(key_file).revoke(key_id)
    except UnknownKeyError as error:
        raise fail(str(error)) from None
    typer.echo(f"revoked key {record.key_id} ({record.role}, {record.tenant or 'no tenant'})")
