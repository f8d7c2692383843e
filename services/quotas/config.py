"""A tenant's quotas, as the ``auth.tenants.<name>.quotas`` section of a cluster config."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field


class QuotaConfig(BaseModel):
    """Limits over every router replica together; unset means unlimited."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    requests_per_minute: Annotated[int, Field(ge=1)] | None = None
    tokens_per_minute: Annotated[int, Field(ge=1)] | None = None
    """Prompt plus completion tokens, as the engines count them. A request is admitted
    while the last minute's tokens are below the limit and charged when it ends (its
    completion is unknown before), so one large request can overshoot once; the next
    ones wait."""
    concurrent_streams: Annotated[int, Field(ge=1)] | None = None
    """Requests in flight at once, streamed or not (every request streams underneath)."""

    @property
    def limits_anything(self) -> bool:
        return any(
            limit is not None
            for limit in (
                self.requests_per_minute,
                self.tokens_per_minute,
                self.concurrent_streams,
            )
        )
