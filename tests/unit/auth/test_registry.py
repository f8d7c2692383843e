"""KeyRegistry: the key file's records by version, and the replicas' refresh from it."""

import os
from pathlib import Path
from typing import Any

from services.auth.access import KeyRing
from services.auth.registry import KeyRegistry, refresh_from
from services.auth.store import KeyRecord, KeyStore, by_key_id


def test_the_first_ask_gets_version_1_and_the_records(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, record = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))

    version, records = registry.records_since(-1)

    assert version == 1
    assert records == {record.key_id: record}
    assert registry.key_file() == str(store.path)


def test_asking_again_with_the_current_version_gets_nothing_new(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    version, _ = registry.records_since(-1)

    assert registry.records_since(version) == (version, None)
    assert registry.records_since(version) == (version, None)


def test_a_new_key_bumps_the_version(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, first = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    version, _ = registry.records_since(-1)

    _, second = store.create(tenant="globex")
    newer, records = registry.records_since(version)

    assert newer == version + 1
    assert records == {first.key_id: first, second.key_id: second}


def test_a_revocation_shows(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    issued, _ = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    version, records = registry.records_since(-1)
    assert records is not None and records[issued.key_id].revoked_at is None

    store.revoke(issued.key_id)
    newer, records = registry.records_since(version)

    assert newer == version + 1
    assert records is not None
    assert records[issued.key_id].revoked_at is not None
    assert not records[issued.key_id].active


def test_an_older_version_gets_the_current_records(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, first = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    registry.records_since(-1)
    _, second = store.create(tenant="acme")

    assert registry.records_since(1) == (2, {first.key_id: first, second.key_id: second})
    assert registry.records_since(0) == (2, {first.key_id: first, second.key_id: second})


def test_a_missing_file_is_no_keys(tmp_path: Path) -> None:
    registry = KeyRegistry(str(tmp_path / "absent" / "keys.json"))

    assert registry.records_since(-1) == (1, {})
    assert registry.records_since(1) == (1, None)


def test_the_file_appearing_later_is_picked_up(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    registry = KeyRegistry(str(store.path))
    assert registry.records_since(-1) == (1, {})

    _, record = store.create(tenant="acme")

    assert registry.records_since(1) == (2, {record.key_id: record})


def test_an_unreadable_file_keeps_the_previous_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, record = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    version, _ = registry.records_since(-1)

    store.path.write_text('{"version": 1, "keys": [', encoding="utf-8")

    assert registry.records_since(version) == (version, None)
    assert registry.records_since(-1) == (version, {record.key_id: record})


def test_a_file_that_parses_but_fails_validation_keeps_the_previous_keys(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, record = store.create(tenant="acme")
    registry = KeyRegistry(str(store.path))
    version, _ = registry.records_since(-1)

    store.path.write_text('{"version": 1, "keys": [{"key_id": "x"}]}', encoding="utf-8")

    assert registry.records_since(-1) == (version, {record.key_id: record})


def test_a_fixed_file_is_read_again(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    _, record = store.create(tenant="acme")
    good = store.path.read_text(encoding="utf-8")
    registry = KeyRegistry(str(store.path))
    version, _ = registry.records_since(-1)
    store.path.write_text("not json", encoding="utf-8")
    assert registry.records_since(version) == (version, None)

    store.path.write_text(good, encoding="utf-8")
    # A rewrite in place can keep inode and size; a distinct mtime marks the change.
    stat = os.stat(store.path)
    os.utime(store.path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))

    assert registry.records_since(version) == (version + 1, {record.key_id: record})


class Remote:
    """What ``actor.method.remote(...)`` returns to an async caller: an awaitable."""

    def __init__(self, result: Any) -> None:
        self.result = result
        self.asked: list[int] = []

    def remote(self, version: int) -> Any:
        self.asked.append(version)

        async def answer() -> Any:
            return self.result

        return answer()


class FakeActor:
    def __init__(self, version: int, records: dict[str, KeyRecord] | None) -> None:
        self.records_since = Remote((version, records))


async def test_refresh_replaces_the_ring_when_the_registry_has_newer_records(
    tmp_path: Path,
) -> None:
    store = KeyStore(tmp_path / "keys.json")
    store.create(tenant="acme")
    records = by_key_id(store.records())
    ring = KeyRing()
    actor = FakeActor(4, records)

    await refresh_from(actor, ring)

    assert actor.records_since.asked == [-1]
    assert (ring.version, ring.records) == (4, records)


async def test_refresh_keeps_the_ring_when_nothing_is_new(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    store.create(tenant="acme")
    records = by_key_id(store.records())
    ring = KeyRing(records)
    ring.version = 4
    actor = FakeActor(4, None)

    await refresh_from(actor, ring)

    assert actor.records_since.asked == [4]
    assert (ring.version, ring.records) == (4, records)


async def test_refresh_against_a_real_registry(tmp_path: Path) -> None:
    store = KeyStore(tmp_path / "keys.json")
    registry = KeyRegistry(str(store.path))

    class Local:
        """The registry behind the actor interface, in process."""

        class records_since:  # named as the actor method
            @staticmethod
            def remote(version: int) -> Any:
                async def answer() -> Any:
                    return registry.records_since(version)

                return answer()

    ring = KeyRing()
    await refresh_from(Local, ring)
    assert (ring.version, dict(ring.records)) == (1, {})

    _, record = store.create(tenant="acme")
    await refresh_from(Local, ring)
    await refresh_from(Local, ring)

    assert (ring.version, dict(ring.records)) == (2, {record.key_id: record})
