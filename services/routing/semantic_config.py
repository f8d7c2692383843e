"""Configuration of semantic routes: the prompt's meaning picks the variant."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, StringConstraints, model_validator

from services.routing.route_base import NAME_PATTERN, RouteBase, Strict, unique_names

# Tuned on all-MiniLM-L6-v2 (tests/unit/routing/test_semantic_minilm.py): held-out on-topic
# prompts score 0.34-0.68 against their nearest utterance and off-topic ones 0.10-0.20, so
# 0.3 keeps a 0.1 margin above chit-chat. Raise it when a wrong specialist costs more
# than the default model; add utterances rather than lower it.
DEFAULT_THRESHOLD = 0.3

Utterance = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


class SemanticVariantConfig(Strict):
    """One destination of a semantic route, described by example prompts."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    """Reported as the decision's variant, e.g. in ``x-fleet-variant``."""
    model: Annotated[str, Field(min_length=1)]
    """The served model that answers prompts like these utterances."""
    utterances: Annotated[list[Utterance], Field(min_length=1)]
    """Example prompts of this variant; a handful of varied, short ones work best."""


class SemanticRouteConfig(RouteBase):
    """Routes by the cosine similarity of the prompt to each variant's utterances."""

    kind: Literal["semantic"] = "semantic"
    variants: Annotated[list[SemanticVariantConfig], Field(min_length=1)]
    """The variant whose nearest utterance is most similar to the prompt wins."""
    threshold: Annotated[float, Field(ge=-1, le=1)] = DEFAULT_THRESHOLD
    """Cosine similarity the winner's nearest utterance must reach; below it the
    default model answers."""
    default: Annotated[str, Field(min_length=1)]
    """The served model for prompts close to no variant (or without text)."""

    @model_validator(mode="after")
    def _variants_are_distinct(self) -> SemanticRouteConfig:
        unique_names([variant.name for variant in self.variants], "variant")
        owners: dict[str, str] = {}
        for variant in self.variants:
            for utterance in variant.utterances:
                other = owners.setdefault(utterance, variant.name)
                # The same example under two variants makes their tie a coin toss.
                if other != variant.name:
                    raise ValueError(
                        f"utterance {utterance!r} is in both '{other}' and '{variant.name}'"
                    )
        return self

    def chosen_models(self) -> set[str]:
        return {variant.model for variant in self.variants} | {self.default}
