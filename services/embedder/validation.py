"""Checks on what callers send to the embedder, before it joins a batch."""

from __future__ import annotations

from services.errors import InvalidRequestError

# A semantic route embeds all its utterances in one call; a few hundred is plenty.
MAX_TEXTS = 256
# A bound against runaway payloads, not a model limit: longer prompts are legitimate and
# the model only reads their beginning anyway (see ``model.MAX_MODEL_CHARS``).
MAX_TEXT_CHARS = 200_000


def validate_texts(texts: object) -> list[str]:
    """``texts`` as a list, or InvalidRequestError naming what is wrong (``param="texts"``)."""
    # A bare string is a sequence too; embedding it letter by letter is never meant.
    if not isinstance(texts, list | tuple):
        raise InvalidRequestError(
            f"texts must be a list of strings, not {type(texts).__name__}", param="texts"
        )
    if not texts:
        raise InvalidRequestError("texts must hold at least one string", param="texts")
    if len(texts) > MAX_TEXTS:
        raise InvalidRequestError(
            f"texts holds {len(texts)} strings; at most {MAX_TEXTS} per call", param="texts"
        )
    for index, text in enumerate(texts):
        if not isinstance(text, str):
            raise InvalidRequestError(
                f"texts[{index}] must be a string, not {type(text).__name__}", param="texts"
            )
        if len(text) > MAX_TEXT_CHARS:
            raise InvalidRequestError(
                f"texts[{index}] has {len(text)} characters; at most {MAX_TEXT_CHARS}",
                param="texts",
            )
    return list(texts)
