"""`fleet keys create|list|revoke` on a key file.

The command group joins `fleet` once the router checks keys; until then it is tested alone.
"""

import json
import re
from pathlib import Path

from typer.testing import CliRunner

from cluster.cli.keys import keys_app
from services.auth.keys import parse_key
from services.auth.store import KeyStore, authenticate, by_key_id

runner = CliRunner()
TOKEN = re.compile(r"flk_[0-9a-f]{12}_[A-Za-z0-9_-]{43}")


def _create(key_file: Path, *args: str) -> str:
    result = runner.invoke(keys_app, ["create", *args, "--file", str(key_file)])
    assert result.exit_code == 0, result.output
    (token,) = TOKEN.findall(result.output)
    return token


def test_create_prints_the_key_once_and_stores_its_digest(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"

    token = _create(key_file, "--tenant", "acme", "--name", "search")

    assert token not in key_file.read_text()
    record = authenticate(by_key_id(KeyStore(key_file).records()), token)
    assert record is not None and (record.tenant, record.name) == ("acme", "search")


def test_list_never_shows_a_secret(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    token = _create(key_file, "--tenant", "acme")
    _create(key_file, "--tenant", "globex")

    text = runner.invoke(keys_app, ["list", "--file", str(key_file)]).output
    listed = json.loads(runner.invoke(keys_app, ["list", "--json", "--file", str(key_file)]).output)

    assert token not in text and parse_key(token).secret not in text
    assert [(k["role"], k["tenant"]) for k in listed] == [("tenant", "acme"), ("tenant", "globex")]
    assert all("secret_sha256" not in k for k in listed)


def test_list_shows_a_legacy_operator_record_as_retired(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    legacy = {
        "key_id": "0123456789ab",
        "role": "operator",
        "tenant": None,
        "secret_sha256": "0" * 64,
        "created_at": "2026-01-01T00:00:00Z",
    }
    key_file.write_text(json.dumps({"version": 1, "keys": [legacy]}))

    listing = runner.invoke(keys_app, ["list", "--file", str(key_file)])

    assert listing.exit_code == 0 and "retired" in listing.output


def test_revoke_stops_the_key(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"
    token = _create(key_file, "--tenant", "acme")
    key_id = token.split("_")[1]

    result = runner.invoke(keys_app, ["revoke", key_id, "--file", str(key_file)])

    assert result.exit_code == 0 and f"revoked key {key_id}" in result.output
    assert authenticate(by_key_id(KeyStore(key_file).records()), token) is None
    listing = runner.invoke(keys_app, ["list", "--file", str(key_file)]).output
    assert "revoked" in listing


def test_bad_invocations_exit_2_with_a_reason(tmp_path: Path) -> None:
    key_file = tmp_path / "keys.json"

    operator = runner.invoke(keys_app, ["create", "--operator", "--file", str(key_file)])
    no_tenant = runner.invoke(keys_app, ["create", "--file", str(key_file)])
    unknown = runner.invoke(keys_app, ["revoke", "0123456789ab", "--file", str(key_file)])

    assert (operator.exit_code, no_tenant.exit_code, unknown.exit_code) == (2, 2, 2)
    assert "--tenant" in no_tenant.output
    assert "no key with id '0123456789ab'" in unknown.output
    assert not key_file.exists()
