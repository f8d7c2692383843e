from __future__ import annotations

from typing import Any

import pytest
from jsonschema.exceptions import SchemaError

from services.guardrails.check_config import JsonCheckConfig
from services.guardrails.checks.json_output import (
    INVALID_JSON,
    SCHEMA_MISMATCH,
    JsonOutputCheck,
    validator_for,
)
from services.guardrails.findings import Finding, GuardContext

PERSON: dict[str, Any] = {
    "type": "object",
    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
    "required": ["name", "age"],
    "additionalProperties": False,
}

WANTS_JSON = GuardContext(wants_json=True)


def categories(findings: list[Finding]) -> list[str]:
    return [finding.category for finding in findings]


async def test_not_asked_for_json_is_not_checked() -> None:
    check = JsonOutputCheck(schema=PERSON)
    assert await check.scan("plainly not JSON", GuardContext()) == []
    assert await check.scan("{", GuardContext(json_schema=PERSON)) == []


@pytest.mark.parametrize(
    "text", ['{"a": 1}', "  [1, 2, 3]\n", '"a string"', "42", "null", '{"nested": {"x": [true]}}']
)
async def test_valid_json_passes(text: str) -> None:
    assert await JsonOutputCheck().scan(text, WANTS_JSON) == []


@pytest.mark.parametrize(
    "text",
    [
        "",
        "   ",
        '{"a": 1',
        "{'a': 1}",
        '{"a": 1} and some prose',
        '```json\n{"a": 1}\n```',
        '{"a": NaN}',
        "Infinity",
    ],
)
async def test_invalid_json_is_one_whole_text_finding(text: str) -> None:
    findings = await JsonOutputCheck(name="json-out").scan(text, WANTS_JSON)
    assert findings == [Finding("json-out", INVALID_JSON, 0, 0)]


async def test_request_schema_match_and_mismatch() -> None:
    check = JsonOutputCheck()
    context = GuardContext(wants_json=True, json_schema=PERSON)
    assert await check.scan('{"name": "Ada", "age": 36}', context) == []
    for text in ['{"name": "Ada"}', '{"name": "Ada", "age": "36"}', "[]"]:
        assert categories(await check.scan(text, context)) == [SCHEMA_MISMATCH]


async def test_invalid_json_is_reported_before_the_schema() -> None:
    context = GuardContext(wants_json=True, json_schema=PERSON)
    assert categories(await JsonOutputCheck().scan('{"name": ', context)) == [INVALID_JSON]


async def test_configured_schema_applies_when_the_request_has_none() -> None:
    config = JsonCheckConfig.model_validate({"type": "json", "schema": PERSON})
    check = JsonOutputCheck.from_config(config)
    assert check.name == "json" and check.max_match_chars == 0
    assert await check.scan('{"name": "Ada", "age": 36}', WANTS_JSON) == []
    assert categories(await check.scan('{"name": "Ada"}', WANTS_JSON)) == [SCHEMA_MISMATCH]


async def test_request_schema_wins_over_the_configured_one() -> None:
    check = JsonOutputCheck(schema=PERSON)
    context = GuardContext(wants_json=True, json_schema={"type": "array"})
    assert await check.scan("[1]", context) == []
    assert categories(await check.scan('{"name": "Ada", "age": 36}', context)) == [SCHEMA_MISMATCH]


async def test_findings_never_carry_the_text() -> None:
    context = GuardContext(wants_json=True, json_schema=PERSON)
    for text in ['{"name": "secret-value"}', "secret-value"]:
        for finding in await JsonOutputCheck().scan(text, context):
            assert "secret" not in repr(finding)


def test_validators_are_cached_by_schema_content() -> None:
    reordered = dict(reversed(list(PERSON.items())))
    assert list(reordered) != list(PERSON)
    assert validator_for(PERSON) is validator_for(reordered)
    assert validator_for(PERSON) is not validator_for({"type": "array"})


async def test_an_invalid_request_schema_raises_for_the_fail_mode() -> None:
    context = GuardContext(wants_json=True, json_schema={"type": "not-a-type"})
    with pytest.raises(SchemaError):
        await JsonOutputCheck().scan("{}", context)


def test_an_invalid_configured_schema_fails_at_build_time() -> None:
    with pytest.raises(SchemaError):
        JsonOutputCheck(schema={"type": 5})
