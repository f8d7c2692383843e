"""What every route kind shares: its alias, its description, its fallback chain and its
shadow."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from services.routing.shadow_config import ShadowConfig

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$"

# The variant a decision reports when a rules or semantic route picks its default model;
# no rule or semantic variant may take this name, so the report is never ambiguous.
DEFAULT_VARIANT = "default"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class RouteBase(Strict):
    """Fields and behaviour common to every route kind; each kind adds a ``kind`` tag."""

    name: Annotated[str, Field(pattern=NAME_PATTERN)]
    """The alias callers put in ``model``."""
    description: str = ""
    """Free text shown in ``/v1/models`` and ``fleet routes show``."""
    fallbacks: list[str] = Field(default_factory=list)
    """Models tried in order when the chosen one is missing, overloaded or fails
    before its first token."""
    shadow: ShadowConfig | None = None
    """Mirror a share of the requests to a candidate model, off the caller's path."""

    def chosen_models(self) -> set[str]:
        """The served models this route's decision can pick (fallbacks excluded)."""
        raise NotImplementedError

    def referenced_models(self) -> set[str]:
        """Every served model the route names; each must be served by the cluster."""
        shadow = {self.shadow.model} if self.shadow else set()
        return self.chosen_models() | set(self.fallbacks) | shadow


def unique_names(names: list[str], what: str) -> None:
    """Reject duplicate names and the reserved default variant name, naming them."""
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(f"{what} names must be unique; repeated: {', '.join(duplicates)}")
    if DEFAULT_VARIANT in names:
        raise ValueError(
            f"'{DEFAULT_VARIANT}' is reserved for the default model: rename the {what}"
        )
