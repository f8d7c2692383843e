"""Shadow traffic: a route mirrors a share of its requests to a candidate model."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class ShadowConfig(BaseModel):
    """The caller gets only the primary's answer; the shadow's is measured and dropped."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    model: Annotated[str, Field(min_length=1)]
    """The served model that receives the copies."""
    fraction: Annotated[float, Field(ge=0, le=1)] = 0.1
    """Share of the route's requests that are mirrored."""
    max_in_flight: Annotated[int, Field(ge=1)] = 4
    """Copies running at once per router replica; more are dropped (and counted), so a
    slow candidate never piles up work."""
