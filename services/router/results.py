"""What the router answers: a whole response, or a stream whose first chunk has arrived."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from dataclasses import dataclass
from typing import Any

from services.router.guarding import GuardSession
from services.router.requests import OpenAIResponse
from services.router.stream_facts import StreamFacts
from services.router.types import RouteDecision


@dataclass(frozen=True)
class RoutedResponse:
    decision: RouteDecision
    body: OpenAIResponse
    guard: dict[str, Any] | None = None
    """What the guardrails decided (``GuardSession.metadata``); None when none ran."""


@dataclass(frozen=True)
class RoutedStream:
    """A stream whose first chunk has arrived, so its status is already known.

    ``chunks`` are server-sent-event strings (``data: {...}\\n\\n``), ending with
    ``data: [DONE]``.
    """

    decision: RouteDecision
    chunks: AsyncGenerator[str, None]
    guard_session: GuardSession | None = None
    facts: StreamFacts | None = None
    """Usage and finish reasons, known once ``chunks`` has ended."""

    @property
    def guard(self) -> dict[str, Any] | None:
        """What the guardrails decided so far: the prompt's verdict at the start, the
        completion's too once the stream has ended."""
        return self.guard_session.metadata() if self.guard_session is not None else None
