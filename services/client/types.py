"""What the client returns: plain frozen values, never protobuf messages."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class FinishReason(StrEnum):
    """Why generation stopped; compares equal to the OpenAI strings ("stop", "length"...)."""

    UNSPECIFIED = "unspecified"
    STOP = "stop"
    LENGTH = "length"
    ABORT = "abort"
    CONTENT_FILTER = "content_filter"


@dataclass(frozen=True)
class ChatMessage:
    role: str
    content: str
    name: str = ""


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int = 0
    completion_tokens: int = 0
    total_tokens: int = 0


@dataclass(frozen=True)
class RouteInfo:
    """Which served model answered (``model``), and through which alias/variant."""

    model: str
    route: str = ""
    variant: str = ""
    reason: str = ""


@dataclass(frozen=True)
class Generation:
    """The answer of a unary ``generate`` call."""

    text: str
    finish_reason: FinishReason
    usage: Usage
    route: RouteInfo | None
    time_to_first_token_ms: float
    request_id: str


@dataclass(frozen=True)
class TextDelta:
    """A piece of streamed text; the first one also says where the request went."""

    text: str
    route: RouteInfo | None = None


@dataclass(frozen=True)
class StreamEnd:
    """The last event of a successful stream."""

    finish_reason: FinishReason
    usage: Usage
    route: RouteInfo | None
    time_to_first_token_ms: float
    request_id: str


@dataclass(frozen=True)
class ModelInfo:
    id: str
    owned_by: str = ""
    max_model_len: int | None = None
    source: str = ""
    family: str = ""
    aliases: tuple[str, ...] = ()
    created: int = 0
    description: str = ""
    parent: str = ""
    """For a LoRA adapter: its base model."""
