"""The per-family manifest (zoo.json) that tells a complete, current build from anything else.

A folder counts as built only if its manifest names the same family, seed, builder version and
spec, and every file it lists still has the recorded sha256. That catches interrupted builds,
hand-edited files and zoos left behind by older code, at the cost of hashing ~40 MB per run.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cluster.zoo.families import COMMON_SHAPE, ZooFamily

MANIFEST_FILE = "zoo.json"

# Bump whenever the builder, the weight scheme or the tokenizer corpus changes the bytes
# written; the spec itself is covered by spec_digest, so editing a family needs no bump.
BUILDER_VERSION = 1

_CHUNK = 1 << 20


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        while chunk := stream.read(_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def spec_digest(family: ZooFamily) -> str:
    """A fingerprint of everything in the spec that shapes the checkpoint."""
    described = asdict(family)
    # Only fine-tuned families name a recipe: the others keep the digest (and so the
    # verified builds) they had before recipes existed.
    if described["fine_tune"] is None:
        del described["fine_tune"]
    spec = {"common": dict(COMMON_SHAPE), "family": described}
    text = json.dumps(spec, sort_keys=True, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class Manifest:
    family: str
    architecture: str
    stands_in_for: str
    seed: int
    builder_version: int
    spec_sha256: str
    # File name -> sha256, for every file of the build except the manifest itself.
    files: dict[str, str]

    @classmethod
    def for_files(cls, family: ZooFamily, seed: int, files: list[Path]) -> Manifest:
        return cls(
            family=family.name,
            architecture=family.architecture,
            stands_in_for=family.stands_in_for,
            seed=seed,
            builder_version=BUILDER_VERSION,
            spec_sha256=spec_digest(family),
            files={path.name: file_sha256(path) for path in sorted(files)},
        )

    def to_json(self) -> str:
        # Sorted keys and a fixed layout: the manifest is part of the byte-identical output.
        return json.dumps(asdict(self), indent=2, sort_keys=True) + "\n"

    def write(self, folder: Path) -> Path:
        path = folder / MANIFEST_FILE
        path.write_text(self.to_json(), encoding="utf-8")
        return path


def read_manifest(folder: Path) -> Manifest | None:
    """The folder's manifest, or None if it is missing or unreadable."""
    try:
        data: dict[str, Any] = json.loads((folder / MANIFEST_FILE).read_text(encoding="utf-8"))
        return Manifest(**data)
    except (OSError, ValueError, TypeError):
        return None


def is_complete(folder: Path, family: ZooFamily, seed: int) -> bool:
    """True if `folder` holds a verified build of `family` for `seed` by this builder."""
    manifest = read_manifest(folder)
    if manifest is None or not manifest.files:
        return False
    if (
        manifest.family != family.name
        or manifest.seed != seed
        or manifest.builder_version != BUILDER_VERSION
        or manifest.spec_sha256 != spec_digest(family)
    ):
        return False
    for name, expected in manifest.files.items():
        path = folder / name
        if not path.is_file() or file_sha256(path) != expected:
            return False
    return True
