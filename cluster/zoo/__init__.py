"""The generated model zoo: deterministic tiny checkpoints of real LLM architectures.

No weights can be downloaded where llm-fleet is built and tested, so tests and the local
cluster serve these instead: random-weight, float32 models of the real architectures, sharing
one locally trained tokenizer, rebuilt byte-for-byte identically from a seed. One family, the
guardrails' judge, is then fine-tuned for its job (cluster/zoo/judge), as deterministically.

Importing this package is cheap; torch and transformers load on first use of build_model or
when build_zoo actually has to build something.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from cluster.zoo.families import FAMILIES, FAMILY_NAMES, ZooFamily, get_family
from cluster.zoo.manifest import BUILDER_VERSION, MANIFEST_FILE, is_complete
from cluster.zoo.store import ZOO_DIR_ENV, BuildResult, build_zoo, zoo_path, zoo_root

if TYPE_CHECKING:
    from cluster.zoo.builder import build_model


def __getattr__(name: str) -> Any:
    # build_model pulls in torch and transformers (~2 s); only pay for it when it is used.
    if name == "build_model":
        from cluster.zoo.builder import build_model

        return build_model
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "BUILDER_VERSION",
    "FAMILIES",
    "FAMILY_NAMES",
    "MANIFEST_FILE",
    "ZOO_DIR_ENV",
    "BuildResult",
    "ZooFamily",
    "build_model",
    "build_zoo",
    "get_family",
    "is_complete",
    "zoo_path",
    "zoo_root",
]
