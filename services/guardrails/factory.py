"""Build the checks a policy names into a pipeline.

The heavy libraries (Presidio, detect-secrets, jsonschema) are imported only when a policy
uses the check that needs them, so a router without such a policy never loads them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from services.embedder.examples import Embedder
from services.guardrails.check_config import (
    CheckBase,
    Direction,
    InjectionCheckConfig,
    JsonCheckConfig,
    JudgeCheckConfig,
    KeywordsCheckConfig,
    MaxPromptTokensCheckConfig,
    PiiCheckConfig,
    RegexCheckConfig,
    SecretsCheckConfig,
    TopicsCheckConfig,
)
from services.guardrails.checks.length import MaxPromptTokensCheck
from services.guardrails.checks.patterns import KeywordCheck, RegexCheck
from services.guardrails.findings import AsyncTextCheck, TextCheck
from services.guardrails.pipeline import GuardedCheck, GuardPipeline, StreamScope

AnyCheck = TextCheck | AsyncTextCheck
Service = TypeVar("Service")
CheckBuilder = Callable[[CheckBase], AnyCheck]


class GuardDependencyError(ValueError):
    """A check needs a service (the embedder, a judge) this process was not given."""


@dataclass(frozen=True)
class CheckServices:
    """What model-backed checks call: the shared embedder deployment and the cluster's
    served models (for judges)."""

    embedder: Embedder | None = None
    judge: object | None = None
    """A ``services.guardrails.checks.judge.JudgeModel``."""


NO_SERVICES = CheckServices()


def build_check(
    config: CheckBase,
    direction: Direction,
    services: CheckServices = NO_SERVICES,
    *,
    builders: Mapping[str, CheckBuilder] | None = None,
) -> AnyCheck:
    """The check for one config on one direction. ``builders`` replaces kinds by ``type``
    (tests use it for stand-ins)."""
    kind: str = config.type  # type: ignore[attr-defined]
    if builders and kind in builders:
        return builders[kind](config)
    check = _build(config, direction, services)
    check.name = config.check_name
    return check


def _build(config: CheckBase, direction: Direction, services: CheckServices) -> AnyCheck:
    if isinstance(config, RegexCheckConfig):
        return RegexCheck.from_config(config)
    if isinstance(config, KeywordsCheckConfig):
        return KeywordCheck.from_config(config)
    if isinstance(config, MaxPromptTokensCheckConfig):
        return MaxPromptTokensCheck.from_config(config)
    if isinstance(config, PiiCheckConfig):
        from services.guardrails.checks.pii import PiiCheck

        return PiiCheck(config.entities)
    if isinstance(config, SecretsCheckConfig):
        from services.guardrails.checks.secrets import SecretsCheck

        return SecretsCheck()
    if isinstance(config, JsonCheckConfig):
        from services.guardrails.checks.json_output import JsonOutputCheck

        return JsonOutputCheck.from_config(config)
    if isinstance(config, InjectionCheckConfig):
        from services.guardrails.checks.injection import InjectionCheck

        return InjectionCheck.from_config(config, _need(services.embedder, config))
    if isinstance(config, TopicsCheckConfig):
        from services.guardrails.checks.topics import TopicsCheck

        return TopicsCheck.from_config(config, _need(services.embedder, config))
    if isinstance(config, JudgeCheckConfig):
        from services.guardrails.checks.judge import JudgeCheck

        return JudgeCheck.from_config(config, _need(services.judge, config), direction)
    raise ValueError(f"no builder for check type '{config.type}'")  # type: ignore[attr-defined]


def _need(service: Service | None, config: CheckBase) -> Service:
    if service is None:
        raise GuardDependencyError(
            f"check '{config.check_name}' ({config.type}) needs a service this process "  # type: ignore[attr-defined]
            "was not given"
        )
    return service


def streamed_scope(config: CheckBase) -> StreamScope | None:
    # Half a JSON document is never valid: judge it once, whole.
    return "final" if isinstance(config, JsonCheckConfig) else None


def build_pipeline(
    configs: Sequence[CheckBase],
    direction: Direction,
    services: CheckServices = NO_SERVICES,
    *,
    builders: Mapping[str, CheckBuilder] | None = None,
) -> GuardPipeline:
    """The pipeline of the ``configs`` that run on ``direction``."""
    guarded = [
        GuardedCheck.from_config(
            build_check(config, direction, services, builders=builders),
            config,
            streamed=streamed_scope(config),
        )
        for config in configs
        if config.runs_on(direction)
    ]
    return GuardPipeline(guarded, direction)
