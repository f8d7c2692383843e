"""The completion is JSON (and fits the schema) when the request asked for JSON.

Strict on purpose: vLLM's guided decoding returns bare JSON, so a Markdown fence around it
(```` ```json ````), trailing prose or ``NaN`` means the model did not follow the format
and the client's parser would fail too. Only surrounding whitespace is tolerated.

Findings are whole-text (no span) and carry only a category, never the text or the
validator's message (which quotes the offending value).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jsonschema import validators
from jsonschema.protocols import Validator

from services.guardrails.check_config import JsonCheckConfig
from services.guardrails.findings import Finding, GuardContext

INVALID_JSON = "INVALID_JSON"
SCHEMA_MISMATCH = "SCHEMA_MISMATCH"

VALIDATOR_CACHE_SIZE = 256
"""Request schemas repeat (a client sends the same one per call), but any client can send
a new one, so the cache is bounded."""


def _reject_constant(name: str) -> Any:
    # Python's json reads NaN and Infinity, which RFC 8259 (and most clients) do not.
    raise ValueError(f"{name} is not JSON")


def parse_strict_json(text: str) -> Any:
    """``text`` as JSON, surrounding whitespace aside; raises ``ValueError`` otherwise."""
    return json.loads(text.strip(), parse_constant=_reject_constant)


@lru_cache(maxsize=VALIDATOR_CACHE_SIZE)
def _compiled(canonical_schema: str) -> Validator:
    schema = json.loads(canonical_schema)
    cls = validators.validator_for(schema)
    # A request's schema was not validated by our config; a bad one is a check failure
    # (the policy's fail mode), not a mismatch blamed on the completion.
    cls.check_schema(schema)
    return cls(schema)


def validator_for(schema: Mapping[str, Any]) -> Validator:
    """A compiled validator, cached by the schema's canonical JSON: equal schemas share
    one however they were built, and ``id()`` reuse can never hand out a stale one."""
    return _compiled(json.dumps(schema, sort_keys=True, separators=(",", ":")))


class JsonOutputCheck:
    """``INVALID_JSON`` when the completion does not parse, ``SCHEMA_MISMATCH`` when it
    does not fit the request's schema (or, failing that, the configured one). Requests that
    did not ask for JSON are not checked.

    ``$ref`` to remote documents is not fetched (jsonschema does not retrieve by default),
    and ``format`` is not asserted, as in jsonschema's default."""

    max_match_chars = 0

    def __init__(self, name: str = "json", schema: Mapping[str, Any] | None = None) -> None:
        self.name = name
        self._schema = schema
        if schema is not None:
            validator_for(schema)  # a bad configured schema fails at build time

    @classmethod
    def from_config(cls, config: JsonCheckConfig) -> JsonOutputCheck:
        return cls(config.check_name, config.json_schema)

    async def scan(self, text: str, context: GuardContext) -> list[Finding]:
        # Async only for the context (and to run with the other context-reading checks):
        # the work is CPU-bound and awaits nothing.
        if not context.wants_json:
            return []
        try:
            document = parse_strict_json(text)
        except ValueError:  # JSONDecodeError is one
            return [Finding(self.name, INVALID_JSON, 0, 0)]
        schema = context.json_schema if context.json_schema is not None else self._schema
        if schema is None:
            return []
        if not validator_for(schema).is_valid(document):
            return [Finding(self.name, SCHEMA_MISMATCH, 0, 0)]
        return []
