"""What the router reads off a model's stream as it passes: the response id, the finish
reasons and the token usage, for telemetry.

Streams always ask the engine for the closing usage chunk; it is dropped again when the
caller did not ask for it. Only the few chunks that can carry these facts are parsed, so
the text chunks pass as the strings they are.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

_DATA = "data: "
# A finish reason that is a string, not null, however the JSON was spaced.
_FINISHED = ('"finish_reason":"', '"finish_reason": "')


@dataclass
class StreamFacts:
    keep_usage: bool
    """The caller asked for the usage chunk (``stream_options.include_usage``)."""
    keeps_text: bool = False
    """Collect the completion's text too (only when spans may hold content)."""
    usage: dict[str, Any] | None = None
    finish_reasons: list[str] = field(default_factory=list)
    response_id: str | None = None
    _parts: list[str] = field(default_factory=list)

    def text(self) -> str:
        return "".join(self._parts)

    def read(self, sse: str) -> str:
        """Note the facts ``sse`` (one or more server-sent events) carries; returns it
        without the usage event unless the caller asked for it."""
        if not (
            self.keeps_text
            or self.response_id is None
            or '"usage"' in sse
            or any(marker in sse for marker in _FINISHED)
        ):
            return sse
        kept = [event for event in sse.split("\n\n") if event and self._keep(event)]
        return "".join(f"{event}\n\n" for event in kept)

    def _keep(self, event: str) -> bool:
        if not event.startswith(_DATA) or event == f"{_DATA}[DONE]":
            return True
        try:
            payload = json.loads(event[len(_DATA) :])
        except json.JSONDecodeError:
            return True
        if not isinstance(payload, dict):
            return True
        self.response_id = self.response_id or payload.get("id")
        choices = payload.get("choices") or []
        for choice in choices:
            reason = choice.get("finish_reason")
            if reason:
                self.finish_reasons.append(reason)
            if self.keeps_text:
                delta = choice.get("delta") or {}
                self._parts.append(delta.get("content") or choice.get("text") or "")
        if payload.get("usage"):
            self.usage = payload["usage"]
            return self.keep_usage or bool(choices)
        return True
