"""The keys a running cluster accepts, shared by every router replica.

One Ray actor (``KeyRegistry``, on the head node, where `fleet keys` writes the key file)
re-reads the file when it changes; each router replica asks it every second for anything
newer (``follow_registry``), so a key made or revoked with `fleet keys` counts on every
replica within about a second, with no restart. Only digests travel: the file holds no secret.

Besides the file's keys the registry holds *session keys*: keys a cluster component made for
itself in memory (the gRPC TLS gateway, which speaks for certificate-identified clients).
Their holder renews them; one not renewed for ``SESSION_KEY_TTL_S`` lapses, so a key whose
holder died stops working.
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from services.actors import NAMESPACE, open_singleton, stop_singleton
from services.auth.access import KeyRing
from services.auth.store import KeyRecord, KeyStore, by_key_id

logger = logging.getLogger(__name__)

REGISTRY_NAME = "llm-fleet-keys"
POLL_INTERVAL_S = 1.0
SESSION_KEY_TTL_S = 30.0

FileStamp = tuple[int, int, int] | None
_UNREAD: FileStamp = (-1, -1, -1)


def _stamp(path: Path) -> FileStamp:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    # The store replaces the file by a rename, so a new inode marks every change.
    return (stat.st_ino, stat.st_mtime_ns, stat.st_size)


class KeyRegistry:
    """The key file's records, numbered by version (a Ray actor in the cluster)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._store = KeyStore(path)
        self._stamp = _UNREAD
        self._version = 0
        self._file_records: dict[str, KeyRecord] = {}
        self._session_records: dict[str, KeyRecord] = {}
        self._session_renewed: dict[str, float] = {}

    def key_file(self) -> str:
        return self.path

    def records_since(self, version: int) -> tuple[int, dict[str, KeyRecord] | None]:
        """The current version, and the records when they are newer than ``version``."""
        self._refresh()
        self._lapse_session_keys()
        if version == self._version:
            return self._version, None
        return self._version, {**self._file_records, **self._session_records}

    def admit_session_key(self, record: KeyRecord) -> None:
        """Accept (or renew) a key its holder keeps in memory; renew within the TTL."""
        self._session_renewed[record.key_id] = time.monotonic()
        if record.key_id not in self._session_records:
            self._session_records[record.key_id] = record
            self._version += 1
            logger.info("session key %s admitted (%s)", record.key_id, record.name)

    def _lapse_session_keys(self) -> None:
        deadline = time.monotonic() - SESSION_KEY_TTL_S
        for key_id, renewed in list(self._session_renewed.items()):
            if renewed < deadline:
                del self._session_renewed[key_id], self._session_records[key_id]
                self._version += 1
                logger.info("session key %s lapsed (not renewed)", key_id)

    def _refresh(self) -> None:
        stamp = _stamp(Path(self.path))
        if stamp == self._stamp:
            return
        try:
            records = by_key_id(self._store.records())
        except (OSError, ValueError, ValidationError) as error:
            # A hand-edited file that does not parse: keep the keys of the last good one.
            logger.error("key file %s unreadable, keeping the previous keys: %s", self.path, error)
            return
        self._stamp = stamp
        self._file_records = records
        self._version += 1
        active = sum(record.active for record in records.values())
        logger.info("key file %s: %d active keys (version %d)", self.path, active, self._version)


def open_registry(path: str) -> Any:
    """The cluster's registry actor, on the head node, where `fleet keys` writes the file."""
    return open_singleton(KeyRegistry, REGISTRY_NAME, path, on_head_node=True)


def close_registry() -> None:
    """Stop the registry actor (`fleet down`); a next start reads the file afresh."""
    stop_singleton(REGISTRY_NAME)


async def refresh_from(registry: Any, ring: KeyRing) -> None:
    """One exchange with the registry actor: take its records if they are newer."""
    version, records = await registry.records_since.remote(ring.version)
    if records is not None:
        ring.replace(records, version)


async def follow_registry(ring: KeyRing, interval_s: float = POLL_INTERVAL_S) -> None:
    """Keep ``ring`` equal to the registry's records, for as long as the task runs."""
    import ray

    failing = False
    while True:
        await asyncio.sleep(interval_s)
        try:
            registry = ray.get_actor(REGISTRY_NAME, namespace=NAMESPACE)
            await refresh_from(registry, ring)
            failing = False
        except Exception as error:  # the actor restarting: keep the keys known, retry
            if not failing:
                logger.warning("key registry unreachable, keeping known keys: %s", error)
            failing = True
