"""Authentication on the cluster side: where the key file is, and the key made at the
first start. (The router replicas start the registry actor that serves the file's keys:
``services.auth.registry``.)"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from services.auth.store import KeyStore

if TYPE_CHECKING:
    from cluster.config.schema import ClusterConfig
    from services.auth.keys import ApiKey

DEFAULT_KEY_FILE = Path(__file__).resolve().parents[1] / ".fleet" / "keys.json"
FIRST_TENANT = "default"


def key_file(config: ClusterConfig) -> Path:
    """The key file a config names (the loader anchors relative paths to the file)."""
    return Path(config.auth.keys_file) if config.auth.keys_file else DEFAULT_KEY_FILE


def first_key(path: Path) -> ApiKey | None:
    """A key for the ``default`` tenant when the file has no active tenant key yet (the
    first start); None otherwise. Its secret is in the returned key only."""
    store = KeyStore(path)
    if any(record.active for record in store.records()):
        return None
    issued, _ = store.create(tenant=FIRST_TENANT, name="made at the first start")
    return issued
