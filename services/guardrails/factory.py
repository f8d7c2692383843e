"""Build the checks a policy names into a pipeline."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence

from services.guardrails.check_config import (
    CheckBase,
    Direction,
    KeywordsCheckConfig,
    MaxPromptTokensCheckConfig,
    RegexCheckConfig,
)
from services.guardrails.checks.length import MaxPromptTokensCheck
from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.findings import TextCheck
from services.guardrails.pipeline import GuardedCheck, GuardPipeline

CheckBuilder = Callable[[CheckBase], TextCheck]


def build_check(
    config: CheckBase,
    *,
    count_tokens: Callable[[str], int] | None = None,
    builders: Mapping[str, CheckBuilder] | None = None,
) -> TextCheck:
    """The check for one config. ``builders`` supplies kinds built elsewhere (pii, secrets),
    keyed by ``type``, so this module need not import their heavy libraries."""
    kind: str = config.type  # type: ignore[attr-defined]
    if builders and kind in builders:
        return builders[kind](config)
    if isinstance(config, RegexCheckConfig):
        return RegexCheck.from_config(config)
    if isinstance(config, KeywordsCheckConfig):
        return KeywordCheck.from_config(config)
    if isinstance(config, MaxPromptTokensCheckConfig):
        if count_tokens is None:
            raise ValueError(f"check '{config.check_name}' needs the model's token counter")
        return MaxPromptTokensCheck.from_config(config, count_tokens)
    raise ValueError(f"no builder for check type '{kind}'")


def build_pipeline(
    configs: Sequence[CheckBase],
    direction: Direction,
    *,
    count_tokens: Callable[[str], int] | None = None,
    builders: Mapping[str, CheckBuilder] | None = None,
) -> GuardPipeline:
    """The pipeline of the ``configs`` that run on ``direction``."""
    guarded = [
        GuardedCheck.from_config(
            build_check(config, count_tokens=count_tokens, builders=builders), config
        )
        for config in configs
        if config.runs_on(direction)
    ]
    return GuardPipeline(guarded, direction)
