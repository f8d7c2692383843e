"""The key file: hashed records, revocation, authentication."""

import json
import stat
from pathlib import Path

import pytest
from pydantic import ValidationError

from services.auth.keys import MalformedKeyError, issue_key
from services.auth.store import KeyStore, UnknownKeyError, authenticate, by_key_id


def test_created_keys_are_stored_as_digests_only(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "fleet" / "keys.json")

    issued, record = store.create(tenant="acme", name="search-backend")

    text = store.path.read_text()
    assert issued.secret not in text and issued.token not in text
    assert json.loads(text)["keys"][0]["key_id"] == issued.key_id
    assert stat.S_IMODE(store.path.stat().st_mode) == 0o600
    assert store.records() == [record]
    assert (record.tenant, record.role, record.name, record.active) == (
        "acme",
        "tenant",
        "search-backend",
        True,
    )


def test_authenticate_finds_the_key_and_its_tenant(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    acme, _ = store.create(tenant="acme")
    records = by_key_id(store.records())

    assert authenticate(records, acme.token).tenant == "acme"
    assert authenticate(records, issue_key().token) is None  # unknown id
    forged = f"flk_{acme.key_id}_{issue_key().secret}"
    assert authenticate(records, forged) is None  # known id, wrong secret
    with pytest.raises(MalformedKeyError):
        authenticate(records, "not-a-key")


def test_a_revoked_key_no_longer_authenticates(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    issued, _ = store.create(tenant="acme")
    kept, _ = store.create(tenant="acme")

    revoked = store.revoke(issued.key_id)
    again = store.revoke(issued.key_id)

    assert not revoked.active and again.revoked_at == revoked.revoked_at
    records = by_key_id(store.records())
    assert authenticate(records, issued.token) is None
    assert authenticate(records, kept.token) is not None


def test_revoking_an_unknown_key_names_the_file(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")

    with pytest.raises(UnknownKeyError, match="keys.json"):
        store.revoke("0123456789ab")


def test_keys_need_a_tenant(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")

    with pytest.raises(ValidationError, match="needs its tenant"):
        store.create(tenant="")
    assert store.records() == []
