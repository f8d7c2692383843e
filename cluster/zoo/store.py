"""Where the zoo lives on disk, and building it idempotently.

Everything here is cheap to import: torch and transformers load only when a family
actually has to be (re)built, so `fleet zoo build` on an up-to-date zoo returns in well under
a second and callers that only need zoo_path() never pay for them.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from cluster.zoo.families import FAMILIES, FAMILY_NAMES, ZooFamily, get_family
from cluster.zoo.manifest import Manifest, is_complete

if TYPE_CHECKING:
    from transformers import PreTrainedTokenizerFast

ZOO_DIR_ENV = "FLEET_ZOO_DIR"

# <repo>/models/zoo: the repo is the folder that holds the `cluster` package.
_DEFAULT_ROOT = Path(__file__).resolve().parents[2] / "models" / "zoo"


def zoo_root() -> Path:
    """The zoo folder: $FLEET_ZOO_DIR if set, else <repo>/models/zoo."""
    override = os.environ.get(ZOO_DIR_ENV)
    return Path(override).expanduser().resolve() if override else _DEFAULT_ROOT


def zoo_path(name: str, root: Path | None = None) -> Path:
    """The folder of family `name` (built or not); raises KeyError for an unknown family."""
    family = get_family(name)
    return (Path(root) if root is not None else zoo_root()) / family.name


@dataclass(frozen=True)
class BuildResult:
    family: ZooFamily
    path: Path
    # False when the folder already held a verified build and was left alone.
    built: bool


@contextmanager
def _family_lock(root: Path, name: str) -> Iterator[None]:
    # Parallel callers (pytest workers, a bootstrap racing a test run) must not interleave
    # writes into one folder; the second waits, then finds the build complete and skips it.
    with (root / f".{name}.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _replace_folder(staged: Path, target: Path) -> None:
    """Swap `staged` in at `target`, so the target is never seen half-written."""
    if target.exists():
        retired = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.old-"))
        target.rename(retired / target.name)
        staged.rename(target)
        shutil.rmtree(retired, ignore_errors=True)
    else:
        staged.rename(target)


def _build_family(
    family: ZooFamily,
    root: Path,
    seed: int,
    tokenizer: Callable[[], PreTrainedTokenizerFast],
) -> None:
    from cluster.zoo.builder import build_model

    staged = Path(tempfile.mkdtemp(dir=root, prefix=f".{family.name}.building-"))
    # mkdtemp makes the folder private (0700); the checkpoint is meant to be read by anyone
    # who can read the zoo, e.g. Ray workers or a container running as another user.
    staged.chmod(0o755)
    try:
        files = build_model(family, staged, seed, tokenizer=tokenizer())
        # The manifest goes in last: its presence is what marks the build as complete.
        Manifest.for_files(family, seed, files).write(staged)
        _replace_folder(staged, root / family.name)
    except BaseException:
        shutil.rmtree(staged, ignore_errors=True)
        raise


def _select(only: Sequence[str] | None) -> list[ZooFamily]:
    if not only:
        return list(FAMILIES)
    wanted = {get_family(name).name for name in only}  # KeyError names the valid families
    return [family for family in FAMILIES if family.name in wanted]


def build_zoo(
    root: Path | None = None,
    *,
    seed: int = 0,
    only: list[str] | None = None,
    force: bool = False,
    on_result: Callable[[BuildResult], None] | None = None,
) -> list[Path]:
    """Make sure every selected family has a complete build for `seed` under `root`.

    Families whose folder already holds a verified build for the same seed and builder are
    skipped unless `force`. Returns the family folders in FAMILIES order; `on_result` hears
    about each family as it is done (the CLI prints from it).
    """
    root = Path(root) if root is not None else zoo_root()
    root.mkdir(parents=True, exist_ok=True)

    # Trained at most once per call, and only if some family needs building.
    trained: list[PreTrainedTokenizerFast] = []

    def shared_tokenizer() -> PreTrainedTokenizerFast:
        if not trained:
            from cluster.zoo.tokenizer import build_tokenizer

            trained.append(build_tokenizer())
        return trained[0]

    paths: list[Path] = []
    for family in _select(only):
        target = root / family.name
        with _family_lock(root, family.name):
            built = force or not is_complete(target, family, seed)
            if built:
                _build_family(family, root, seed, shared_tokenizer)
        paths.append(target)
        if on_result is not None:
            on_result(BuildResult(family=family, path=target, built=built))
    return paths


__all__ = ["FAMILY_NAMES", "ZOO_DIR_ENV", "BuildResult", "build_zoo", "zoo_path", "zoo_root"]
