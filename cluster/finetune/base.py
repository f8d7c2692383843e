"""Which base model `--base` names: a model of the cluster config, a zoo family, a local
folder, or a hub id; and where it loads from on the machine that trains."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from cluster.finetune.errors import FinetuneError

# The config schema's own "zoo:" prefix; spelled here because importing the schema costs
# ~50 ms that `fleet --help` should not pay. A test checks the two agree.
ZOO_PREFIX = "zoo:"


@dataclass(frozen=True)
class BaseModelRef:
    """A base model as named on the command line and the source it stands for."""

    name: str
    """As given: a config model name, ``zoo:<family>``, a folder or a hub id."""
    source: str
    """``zoo:<family>``, an absolute local folder, or a hub id. Kept unresolved so that a
    Ray task on another node finds the zoo in its own checkout."""

    @property
    def is_zoo(self) -> bool:
        return self.source.startswith(ZOO_PREFIX)

    @property
    def is_local(self) -> bool:
        return self.is_zoo or Path(self.source).is_absolute()

    def locate(self) -> str:
        """The folder (or hub id) transformers loads, on this machine."""
        if not self.is_zoo:
            if self.is_local and not Path(self.source).is_dir():
                raise FinetuneError(f"base model {self.name!r}: no model folder at {self.source}")
            return self.source
        from cluster.zoo import zoo_path

        folder = zoo_path(self.source.removeprefix(ZOO_PREFIX))
        if not (folder / "config.json").is_file():
            raise FinetuneError(
                f"base model {self.name!r}: the zoo checkpoint {folder} is not built "
                "(run `fleet zoo build`)"
            )
        return str(folder)


def resolve_base(base: str, config_path: Path | None = None) -> BaseModelRef:
    """``zoo:<family>``, else a model name of the config (default: the embedded one), else a
    local folder, else a hub id (``org/name``)."""
    if base.startswith(ZOO_PREFIX):
        _check_family(base.removeprefix(ZOO_PREFIX))
        return BaseModelRef(base, base)
    names = _config_sources(config_path)
    if base in names:
        source = names[base]
        if not source.startswith(ZOO_PREFIX) and Path(source).expanduser().is_dir():
            source = str(Path(source).expanduser().resolve())
        return BaseModelRef(base, source)
    folder = Path(base).expanduser()
    if folder.is_dir():
        return BaseModelRef(base, str(folder.resolve()))
    if base.count("/") == 1 and not base.startswith((".", "/", "~")):
        return BaseModelRef(base, base)
    where = str(config_path) if config_path else "the embedded config"
    raise FinetuneError(
        f"--base {base!r}: not a model of {where} ({', '.join(sorted(names)) or 'none'}), "
        "not zoo:<family>, not a folder and not a hub id (org/name)"
    )


def architecture(folder: str) -> str | None:
    """The model class a local checkpoint declares (config.json ``architectures``)."""
    try:
        declared = json.loads((Path(folder) / "config.json").read_text())["architectures"]
        return str(declared[0])
    except (OSError, ValueError, KeyError, IndexError, TypeError):
        return None


def _check_family(family: str) -> None:
    from cluster.zoo import get_family

    try:
        get_family(family)
    except KeyError as error:
        raise FinetuneError(f"--base {ZOO_PREFIX}{family}: {error.args[0]}") from None


def _config_sources(config_path: Path | None) -> dict[str, str]:
    from cluster.config import ConfigError, load_config

    try:
        config = load_config(config_path)
    except ConfigError as error:
        raise FinetuneError(str(error)) from None
    return {model.name: model.source for model in config.models}
