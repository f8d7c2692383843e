"""Session keys: a key a cluster component holds in memory (the gRPC TLS gateway's), served by
the registry beside the file's keys while its holder renews it."""

from datetime import UTC, datetime
from pathlib import Path

import pytest

from services.auth import registry as registry_module
from services.auth.keys import issue_key, secret_digest
from services.auth.registry import KeyRegistry
from services.auth.store import KeyRecord, KeyStore, authenticate


def session_record(tenant: str = "tls-gateway") -> tuple[str, KeyRecord]:
    key = issue_key()
    record = KeyRecord(
        key_id=key.key_id,
        tenant=tenant,
        name="grpc tls gateway",
        secret_sha256=secret_digest(key.secret),
        created_at=datetime.now(UTC),
    )
    return key.token, record


def test_an_admitted_session_key_authenticates_beside_the_files_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, in_file = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    version, _ = registry.records_since(-1)
    token, record = session_record()

    registry.admit_session_key(record)
    newer, records = registry.records_since(version)

    assert newer > version and records is not None
    assert set(records) == {in_file.key_id, record.key_id}
    assert authenticate(records, token) == record
    assert not store.path.read_text().count(record.key_id)  # never written to the file


def test_renewing_changes_nothing_and_a_lapsed_key_is_withdrawn(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    registry = KeyRegistry(str(tmp_path / "keys.json"))
    _, record = session_record()
    registry.admit_session_key(record)
    version, _ = registry.records_since(-1)

    registry.admit_session_key(record)
    assert registry.records_since(version) == (version, None)

    monkeypatch.setattr(registry_module, "SESSION_KEY_TTL_S", -1.0)
    lapsed, records = registry.records_since(version)
    assert lapsed > version
    assert records == {}
