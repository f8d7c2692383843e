"""Why a fine-tune cannot start or its output cannot be read.

ValueError subclasses, as the config loader's ConfigError: these are bad input from the
command line, not request-path failures, so services.errors' HTTP-mapped tree does not fit.
"""

from __future__ import annotations


class FinetuneError(ValueError):
    """A fine-tune cannot run: bad data, options, base model or output folder."""


class FinetuneDataError(FinetuneError):
    """The training file is invalid; ``problems`` lists each one as ``file:line: field: ...``."""

    def __init__(self, problems: list[str], *, total: int | None = None) -> None:
        self.problems = problems
        self.total = len(problems) if total is None else total
        lines = list(problems)
        if self.total > len(problems):
            lines.append(f"... and {self.total - len(problems)} more problems")
        super().__init__("\n".join(lines))


class ManifestError(FinetuneError):
    """An adapter folder's manifest is missing or invalid."""
