"""One guard check in a policy: what it looks for, where it runs and what a hit does.

Check kinds are told apart by ``type``. Each kind is a small model on ``CheckBase``, so a new
kind (``injection``, ``topics``, ``judge``, ``json``) is one more class in ``CheckConfig``.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, model_validator

Direction = Literal["input", "output"]
On = Literal["input", "output", "both"]
Action = Literal["block", "redact", "flag"]
FailMode = Literal["open", "closed"]

CHECK_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_\-]{0,63}$"
# Regex names become categories and placeholders (<NAME>), so keep them identifier-like.
PATTERN_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CheckBase(Strict):
    """What every check kind shares."""

    name: Annotated[str, Field(pattern=CHECK_NAME_PATTERN)] | None = None
    """How findings, errors and audit events name the check; defaults to ``type``. Must be
    unique within a policy, so give two regex checks of one policy their own names."""
    on: On = "both"
    """Where the check runs: on the prompt (``input``), the completion (``output``) or both."""
    action: Action = "block"
    """What a finding does: ``block`` refuses the request (or stops the stream), ``redact``
    replaces each finding with ``<CATEGORY>``, ``flag`` only records it."""
    timeout_ms: Annotated[float, Field(gt=0, le=60_000)] = 50
    """The check's time budget per scan. A check that waits on another deployment (the
    embedder, a judge model) is abandoned at the deadline, a check failure. A check that
    runs in the router cannot be interrupted: its overrun is recorded as ``slow`` and its
    findings still apply."""
    fail: FailMode = "closed"
    """When the check raises or misses its deadline: ``closed`` blocks (category
    ``CHECK_FAILED``), ``open`` lets the text pass. Either way the failure is recorded."""

    @model_validator(mode="before")
    @classmethod
    def _yaml_on_key(cls, data: Any) -> Any:
        # YAML 1.1 (PyYAML) reads a bare `on:` key as the boolean True.
        if isinstance(data, dict) and True in data and "on" not in data:
            data = {("on" if key is True else key): value for key, value in data.items()}
        return data

    @property
    def check_name(self) -> str:
        return self.name or self.type  # type: ignore[attr-defined]

    @property
    def has_spans(self) -> bool:
        """Whether findings point at text that redaction could replace."""
        return True

    def runs_on(self, direction: Direction) -> bool:
        return self.on in (direction, "both")

    @model_validator(mode="after")
    def _redact_needs_spans(self) -> CheckBase:
        if self.action == "redact" and not self.has_spans:
            raise ValueError(
                f"action: '{self.check_name}' finds no text spans to redact; use block or flag"
            )
        return self


PiiEntity = Literal["EMAIL", "PHONE", "CREDIT_CARD", "IBAN", "US_SSN", "IP_ADDRESS"]


class PiiCheckConfig(CheckBase):
    """Personal data (Presidio's pattern recognizers, no NLP model)."""

    type: Literal["pii"] = "pii"
    entities: Annotated[list[PiiEntity], Field(min_length=1)]
    """What to detect; each is also the finding's category and placeholder (``<EMAIL>``).
    Only these run: Presidio's catch-all set misreads phone numbers as other ids."""


class SecretsCheckConfig(CheckBase):
    """Keys, tokens and private key blocks (detect-secrets' regex plugins)."""

    type: Literal["secrets"] = "secrets"


class RegexCheckConfig(CheckBase):
    """Operator-written patterns; each finding's category is the pattern's name upper-cased."""

    type: Literal["regex"] = "regex"
    patterns: Annotated[
        dict[Annotated[str, Field(pattern=PATTERN_NAME_PATTERN)], str], Field(min_length=1)
    ]
    """Name -> Python regular expression."""
    ignore_case: bool = False
    max_match_chars: Annotated[int, Field(ge=1, le=4096)] = 256
    """The longest text one match, with the characters its lookarounds read, can span. Sizes
    the streaming hold-back window: a longer match is still found whole in one piece of text,
    but split across stream chunks only this much is guaranteed to be seen at once. Bound
    open-ended patterns (``{8,64}``, not ``+``)."""

    @model_validator(mode="after")
    def _patterns_compile(self) -> RegexCheckConfig:
        for name, pattern in self.patterns.items():
            try:
                compiled = re.compile(pattern)
            except re.error as error:
                raise ValueError(f"patterns.{name}: not a valid regex: {error}") from None
            if compiled.fullmatch(""):
                raise ValueError(f"patterns.{name}: matches the empty string")
            if "(?<=" in pattern:
                # Streamed output is scanned without the text already sent, so a positive
                # lookbehind could miss there; a negative one only errs towards redacting.
                raise ValueError(f"patterns.{name}: positive lookbehind is not supported")
        return self


class KeywordsCheckConfig(CheckBase):
    """A block list of words or phrases; category ``KEYWORD``."""

    type: Literal["keywords"] = "keywords"
    words: Annotated[list[Annotated[str, Field(min_length=1, max_length=256)]], Field(min_length=1)]
    case_sensitive: bool = False
    whole_word: bool = True
    """Match only where the word is not part of a longer word (``ass`` does not hit
    ``class``)."""


class WholeTextCheck(CheckBase):
    """A verdict on the text as a whole (no spans): block or flag, never redact."""

    @property
    def has_spans(self) -> bool:
        return False


class MaxPromptTokensCheckConfig(WholeTextCheck):
    """Refuse prompts longer than ``limit`` tokens of the served model's tokenizer."""

    type: Literal["max_prompt_tokens"] = "max_prompt_tokens"
    on: Literal["input"] = "input"
    """Input only: a prompt's length."""
    limit: Annotated[int, Field(ge=1)]
    timeout_ms: Annotated[float, Field(gt=0, le=60_000)] = 2000
    """Counting takes well under a millisecond, but a tokenizer's first load (about a
    second; the router preloads them when a policy needs them) counts against it too."""


Similarity = Annotated[float, Field(gt=0, le=1)]


class EmbeddingCheck(WholeTextCheck):
    """A check that compares the text's windows to example texts with the embedder."""

    max_windows: Annotated[int, Field(ge=1, le=32)] = 8
    """Sentence windows of the text embedded per scan (the head, the tail and evenly spaced
    ones between): cost grows with it (~4 ms per window on one CPU thread), coverage of a
    long prompt's middle too. Checks of one policy with the same value share embeddings."""


class InjectionCheckConfig(EmbeddingCheck):
    """Prompt injection and jailbreaks: normalisation and heuristics, then the nearest
    known attack by embedding similarity (the shared embedder deployment)."""

    type: Literal["injection"] = "injection"
    on: On = "input"
    timeout_ms: Annotated[float, Field(gt=0, le=60_000)] = 200
    threshold: Similarity = 0.55
    """Cosine similarity (all-MiniLM-L6-v2) to the nearest known attack at or above which
    the prompt is one. At 0.55, known attacks reworded scored 0.54-0.79 and harmless
    look-alikes 0.11-0.52 (one outlier, a question about system prompts, at 0.65)."""
    heuristics: bool = True
    """Also flag the tell-tale phrasings (``ignore all previous instructions``) and hidden
    characters without asking the embedder."""
    builtin_attacks: bool = True
    """Compare against llm-fleet's corpus of known attack prompts."""
    attacks: list[Annotated[str, Field(min_length=1, max_length=2000)]] = Field(
        default_factory=list
    )
    """More known attack prompts, compared alongside (or instead of) the built-in ones."""

    @model_validator(mode="after")
    def _has_attacks(self) -> InjectionCheckConfig:
        if not self.builtin_attacks and not self.attacks and not self.heuristics:
            raise ValueError("attacks: give attack prompts, or keep builtin_attacks or heuristics")
        return self


TOPIC_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,63}$"


class TopicsCheckConfig(EmbeddingCheck):
    """Banned topics: the text is near a topic's description or examples (embedder)."""

    type: Literal["topics"] = "topics"
    timeout_ms: Annotated[float, Field(gt=0, le=60_000)] = 200
    topics: Annotated[
        dict[
            Annotated[str, Field(pattern=TOPIC_NAME_PATTERN)],
            Annotated[
                list[Annotated[str, Field(min_length=1, max_length=2000)]], Field(min_length=1)
            ],
        ],
        Field(min_length=1),
    ]
    """Topic name (the finding's category, upper-cased) -> descriptions or example texts."""
    threshold: Similarity = 0.3
    """With a few descriptions per topic, on-topic prompts scored 0.35-0.71 and unrelated ones
    (cooking, code, trivia) 0.02-0.18."""


class JsonCheckConfig(WholeTextCheck):
    """The completion is valid JSON (and matches the schema) when the request asked for
    JSON; requests that did not are not checked."""

    type: Literal["json"] = "json"
    on: Literal["output"] = "output"
    json_schema: dict[str, Any] | None = Field(default=None, alias="schema")
    """Checked when the request gives no schema of its own."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    @model_validator(mode="after")
    def _schema_valid(self) -> JsonCheckConfig:
        if self.json_schema is not None:
            from jsonschema import validators
            from jsonschema.exceptions import SchemaError

            try:
                validators.validator_for(self.json_schema).check_schema(self.json_schema)
            except SchemaError as error:
                raise ValueError(f"schema: not a valid JSON schema: {error.message}") from None
        return self


JUDGE_CATEGORIES = tuple(f"S{number}" for number in range(1, 15))
JudgeCategory = Literal[
    "S1", "S2", "S3", "S4", "S5", "S6", "S7", "S8", "S9", "S10", "S11", "S12", "S13", "S14"
]


class JudgeCheckConfig(WholeTextCheck):
    """A Llama-Guard-3-style safety classifier, served as a model of this cluster."""

    type: Literal["judge"] = "judge"
    model: Annotated[str, Field(min_length=1)]
    """The served model (its name in ``models``) that judges."""
    categories: Annotated[list[JudgeCategory], Field(min_length=1)] = Field(
        default_factory=lambda: list(JUDGE_CATEGORIES)
    )
    """The hazard categories the judge is asked about (Llama Guard 3's S1-S14)."""
    max_tokens: Annotated[int, Field(ge=1, le=64)] = 10
    timeout_ms: Annotated[float, Field(gt=0, le=60_000)] = 5000


CHECK_KINDS = (
    "pii",
    "secrets",
    "regex",
    "keywords",
    "max_prompt_tokens",
    "injection",
    "topics",
    "json",
    "judge",
)


def check_kind(value: Any) -> str | None:
    if isinstance(value, dict):
        return value.get("type")
    return getattr(value, "type", None)


CheckConfig = Annotated[
    Annotated[PiiCheckConfig, Tag("pii")]
    | Annotated[SecretsCheckConfig, Tag("secrets")]
    | Annotated[RegexCheckConfig, Tag("regex")]
    | Annotated[KeywordsCheckConfig, Tag("keywords")]
    | Annotated[MaxPromptTokensCheckConfig, Tag("max_prompt_tokens")]
    | Annotated[InjectionCheckConfig, Tag("injection")]
    | Annotated[TopicsCheckConfig, Tag("topics")]
    | Annotated[JsonCheckConfig, Tag("json")]
    | Annotated[JudgeCheckConfig, Tag("judge")],
    Discriminator(
        check_kind,
        custom_error_type="check_type",
        custom_error_message=f"unknown check type; expected one of: {', '.join(CHECK_KINDS)}",
    ),
]
"""Any check, told apart by its ``type``."""
