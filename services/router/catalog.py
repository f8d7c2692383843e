"""The models the router can send requests to."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass

from services.errors import ModelNotFoundError


@dataclass(frozen=True)
class ServedModel:
    """What the router knows of one served model."""

    name: str
    source: str
    max_model_len: int | None = None
    tensor_parallel_size: int = 1
    description: str = ""
    deployment: str = ""
    """The Ray Serve deployment and application that host it."""
    app: str = ""
    tokenizer: str = ""
    """Where its tokenizer loads from (a local folder or a hub id)."""
    adapter_of: str = ""
    """For a LoRA adapter, the base model it is served with (on that model's replicas)."""


class ModelCatalog:
    def __init__(self, models: Iterable[ServedModel]) -> None:
        self._models = {model.name: model for model in models}
        self._created = int(time.time())

    def __contains__(self, name: str) -> bool:
        return name in self._models

    @property
    def names(self) -> list[str]:
        return sorted(self._models)

    def get(self, name: str) -> ServedModel:
        try:
            return self._models[name]
        except KeyError:
            raise ModelNotFoundError(name, self.names) from None

    def model_cards(self) -> list[dict[str, object]]:
        return [self.card(name) for name in self.names]

    def card(self, name: str) -> dict[str, object]:
        """The OpenAI ``model`` object, with our serving details under ``metadata``."""
        model = self.get(name)
        card: dict[str, object] = {
            "id": model.name,
            "object": "model",
            "created": self._created,
            "owned_by": "llm-fleet",
            "root": model.source,
            "max_model_len": model.max_model_len,
            "metadata": {
                "source": model.source,
                "tensor_parallel_size": model.tensor_parallel_size,
                "description": model.description,
            },
        }
        if model.adapter_of:
            # vLLM's own /v1/models names a LoRA adapter's base model the same way.
            card["parent"] = model.adapter_of
        return card
