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
from services.auth.store import KeyRecord, KeyStore, UnknownKeyError

keys_app = typer.Typer(help="Create, list and revoke tenants' API keys.")

KeyFileOption = Annotated[Path, typer.Option("--file", help="The key file.", show_default=True)]


@keys_app.command("create")
def create(
    tenant: Annotated[str, typer.Option("--tenant", help="The tenant the key acts for.")],
    name: Annotated[str, typer.Option("--name", help="A label: who or what uses it.")] = "",
    key_file: KeyFileOption = DEFAULT_KEY_FILE,
) -> None:
    """Make a key for a tenant and print it once: only its digest is kept. (The operator's
    credential is the Ray cluster token, not an API key.)"""
    if not tenant.strip():
        raise fail("--tenant needs a tenant name")
    issued, record = KeyStore(key_file).create(tenant=tenant, name=name)
    typer.echo(f"created key {record.key_id} for tenant {tenant}; it is shown only now:\n")
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
        typer.echo(
            f"{r.key_id}  {r.role:<8}  {r.tenant or '-':<16}  {r.name or '-':<20}  "
            f"created {r.created_at:%Y-%m-%d %H:%M}  {_state(r)}"
        )


def _state(record: KeyRecord) -> str:
    if record.revoked_at is not None:
        return f"revoked {record.revoked_at:%Y-%m-%d %H:%M}"
    # Operator keys of earlier versions: the file keeps them, the cluster ignores them.
    return "retired (operator keys are no longer accepted)" if record.retired else "active"


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
