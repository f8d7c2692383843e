"""The key file: every API key's public facts and the digest of its secret, never the secret.

One JSON document (``{"version": 1, "keys": [...]}``) written whole through a temporary file
and a rename, readable by its owner only, and changed under an exclusive lock so that two
``fleet keys`` commands cannot lose each other's change.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.auth.keys import ApiKey, issue_key, parse_key, secret_digest, secret_matches

Role = Literal["tenant"]
# Earlier versions also made "operator" keys; the Ray cluster token is the operator's
# credential now. Such records still load (a key file is never refused for them), are
# listed as retired and never authenticate.
LEGACY_OPERATOR = "operator"
FILE_VERSION = 1
# Compared against when a key id is unknown, so that an unknown id and a wrong secret take
# the same time.
_NO_DIGEST = secret_digest("no such key")


class KeyRecord(BaseModel):
    """One key as stored: who it is for, when it was made and revoked, its digest."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    key_id: str
    role: Role | Literal["operator"] = "tenant"
    """Always written (earlier versions require it); ``operator`` only in legacy records."""
    tenant: str | None = None
    name: str = ""
    secret_sha256: str = Field(repr=False)
    created_at: datetime
    revoked_at: datetime | None = None

    @model_validator(mode="after")
    def _tenant_keys_name_their_tenant(self) -> KeyRecord:
        if self.role == "tenant" and not self.tenant:
            raise ValueError("a tenant key needs its tenant")
        return self

    @property
    def retired(self) -> bool:
        """A legacy operator record: kept in the file, never accepted."""
        return self.role == LEGACY_OPERATOR

    @property
    def active(self) -> bool:
        return self.revoked_at is None and not self.retired


class KeyFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: Literal[1] = FILE_VERSION
    keys: list[KeyRecord] = Field(default_factory=list)


class UnknownKeyError(LookupError):
    """No key with that id in the file."""


class KeyStore:
    """The key file at ``path`` (created on the first key)."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)

    def load(self) -> KeyFile:
        if not self.path.exists():
            return KeyFile()
        return KeyFile.model_validate_json(self.path.read_text(encoding="utf-8"))

    def records(self) -> list[KeyRecord]:
        return self.load().keys

    def create(self, *, tenant: str, name: str = "") -> tuple[ApiKey, KeyRecord]:
        """A new key for ``tenant``; the secret leaves only in the returned ``ApiKey``."""
        issued = issue_key()
        record = KeyRecord(
            key_id=issued.key_id,
            tenant=tenant,
            name=name,
            secret_sha256=secret_digest(issued.secret),
            created_at=datetime.now(UTC),
        )
        with self._changing() as keys:
            keys.keys.append(record)
        return issued, record

    def revoke(self, key_id: str) -> KeyRecord:
        """Mark the key revoked (kept, so listings show when); revoking twice is harmless."""
        with self._changing() as keys:
            index = next((i for i, r in enumerate(keys.keys) if r.key_id == key_id), None)
            if index is None:  # raised inside: the file is left as it was
                raise UnknownKeyError(f"no key with id '{key_id}' in {self.path}")
            if keys.keys[index].revoked_at is None:
                keys.keys[index] = keys.keys[index].model_copy(
                    update={"revoked_at": datetime.now(UTC)}
                )
            return keys.keys[index]

    @contextlib.contextmanager
    def _changing(self) -> Iterator[KeyFile]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        lock_path = self.path.with_name(self.path.name + ".lock")
        with lock_path.open("a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            keys = self.load()
            yield keys
            self._write(keys)

    def _write(self, keys: KeyFile) -> None:
        temporary = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w", encoding="utf-8") as out:
            out.write(keys.model_dump_json(indent=2) + "\n")
        os.replace(temporary, self.path)


def by_key_id(records: list[KeyRecord]) -> dict[str, KeyRecord]:
    return {record.key_id: record for record in records}


def authenticate(records: Mapping[str, KeyRecord], token: str) -> KeyRecord | None:
    """The active record ``token`` belongs to (``records`` by key id), or None (revoked
    and retired records too). Raises MalformedKeyError when the text is not a key at all."""
    presented = parse_key(token)
    record = records.get(presented.key_id)
    digest = record.secret_sha256 if record is not None else _NO_DIGEST
    if not secret_matches(presented.secret, digest) or record is None or not record.active:
        return None
    return record
