"""Fuzzing the OpenAI-compatible HTTP API: no 5xx, every error OpenAI-shaped, no traceback
in the router's or the proxy's logs, and the server answers afterwards.

Two generators share the case budget (``FLEET_FUZZ_CASES``, seed ``FLEET_FUZZ_SEED``):
schemathesis over the OpenAPI schema the API publishes (``/openapi.json``; the bodies of the
completion endpoints come from the router's request models, which the published schema does
not carry because the handlers read the raw request), and hand-written hostile requests
(``tests/support/hostile_http.py``): mutated valid bodies, oversized and deeply nested bodies,
invalid UTF-8, non-JSON, wrong content types, huge ``max_tokens`` and ``n``, long stop lists,
empty and 100k-character prompts, and wrong types in every field.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import schemathesis
from hypothesis import given, seed
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.core import NotSet

from tests.integration.conftest import LIMITED, RunningCluster
from tests.support.fuzzing import (
    Findings,
    LogWatch,
    fuzz_cases,
    fuzz_seed,
    fuzz_settings,
    to_json,
)
from tests.support.hostile_http import (
    BODIES,
    CHEAP_MODELS,
    HttpCase,
    headers,
    hostile_case,
    keep_cheap,
)

# Share of the cases that schemathesis generates (it is the slower generator).
SCHEMA_SHARE = 0.25
TIMEOUT_S = 60.0


def published_schema(session: httpx.Client) -> dict[str, Any]:
    """The OpenAPI document the API publishes; it describes the completion bodies."""
    response = session.get("/openapi.json")
    assert response.status_code == 200, response.text
    spec = response.json()
    for path, model in BODIES.items():
        body = spec["paths"][path]["post"]["requestBody"]["content"]["application/json"]
        assert body["schema"]["$ref"].endswith(f"/{model.__name__}")
    return spec


@st.composite
def schema_case(
    draw: st.DrawFn, operations: list[Any], auth: dict[str, dict[str, str]]
) -> HttpCase:
    operation = draw(st.sampled_from(operations))
    mode = draw(st.sampled_from([GenerationMode.POSITIVE, GenerationMode.NEGATIVE]))
    case = draw(operation.as_strategy(generation_mode=mode))
    path = case.formatted_path
    content = b""
    if not isinstance(case.body, NotSet):
        body = case.body
        if isinstance(body, dict) and draw(st.booleans()):
            body["model"] = draw(st.sampled_from(CHEAP_MODELS))
        content = to_json(keep_cheap(body, path))
    query = tuple((str(k), str(v)) for k, v in (case.query or {}).items())
    pairs = [(str(k), str(v)) for k, v in (case.headers or {}).items() if str(v).isascii()]
    return HttpCase(
        case.method.upper(),
        path,
        content,
        (*draw(headers(auth)), *pairs),
        query,
        origin=f"schemathesis-{mode.value}",
    )


# -- checks -------------------------------------------------------------------------------


def openai_error_problem(payload: Any) -> str | None:
    """What is wrong with an error body, or None when it is OpenAI-shaped."""
    if not isinstance(payload, dict) or not isinstance(payload.get("error"), dict):
        return "the error body is not {'error': {...}}"
    error = payload["error"]
    missing = {"message", "type", "param", "code"} - set(error)
    if missing:
        return f"the error lacks {sorted(missing)}"
    if not isinstance(error["message"], str) or not error["message"]:
        return "the error message is empty"
    if not isinstance(error["type"], str) or not error["type"]:
        return "the error type is empty"
    if error["param"] is not None and not isinstance(error["param"], str):
        return "the error param is neither a string nor null"
    return None


def _stream_problems(text: str) -> list[str]:
    problems = []
    for line in text.splitlines():
        if not line.startswith("data: ") or line == "data: [DONE]":
            continue
        payload = json.loads(line.removeprefix("data: "))
        if "error" in payload:
            problem = openai_error_problem(payload)
            if problem is not None:
                problems.append(f"in-band stream error: {problem}")
            elif int(payload["error"]["code"]) >= 500:
                problems.append(f"in-band stream error {payload['error']['code']}: {line[:300]}")
    return problems


def check_response(response: httpx.Response, case: HttpCase, findings: Findings) -> None:
    status = response.status_code
    findings.count(f"{case.origin}:{status}")
    if status >= 500:
        findings.add(f"HTTP {status}: {response.text[:300]}", case.describe())
        return
    content_type = response.headers.get("content-type", "")
    if status >= 400:
        try:
            problem = openai_error_problem(response.json())
        except ValueError:
            problem = "the error body is not JSON"
        if problem is not None:
            findings.add(f"HTTP {status}: {problem}: {response.text[:300]}", case.describe())
    elif content_type.startswith("text/event-stream"):
        for problem in _stream_problems(response.text):
            findings.add(problem, case.describe())


def send(session: httpx.Client, case: HttpCase, findings: Findings) -> None:
    try:
        response = session.request(
            case.method,
            case.path,
            content=case.content,
            headers=list(case.headers),
            params=list(case.query),
        )
    except (httpx.InvalidURL, httpx.LocalProtocolError, UnicodeEncodeError):
        findings.count(f"{case.origin}:unsendable")  # the client refused to send it
        return
    except httpx.TransportError as error:
        findings.add(f"transport error {type(error).__name__}: {error}", case.describe())
        findings.count(f"{case.origin}:transport-error")
        return
    check_response(response, case, findings)


# -- the tests ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def session(cluster: RunningCluster) -> Iterator[httpx.Client]:
    origin = httpx.URL(cluster.endpoints.http).copy_with(path="/")
    with httpx.Client(base_url=str(origin), timeout=TIMEOUT_S) as client:
        yield client


@pytest.fixture(scope="module")
def auth(cluster: RunningCluster) -> dict[str, dict[str, str]]:
    return {"tests": cluster.headers(), "limited": cluster.headers(LIMITED), "none": {}}


@pytest.fixture(scope="module")
def log_watch(cluster: RunningCluster) -> LogWatch:
    return LogWatch.start()


@pytest.fixture(scope="module")
def findings() -> Findings:
    return Findings()


@pytest.fixture(scope="module")
def run_started() -> float:
    return time.monotonic()


def test_schema_driven_cases(
    session: httpx.Client,
    auth: dict[str, dict[str, str]],
    log_watch: LogWatch,
    findings: Findings,
    run_started: float,
) -> None:
    schema = schemathesis.openapi.from_dict(published_schema(session))
    operations = [result.ok() for result in schema.get_all_operations()]
    local = Findings()

    @seed(fuzz_seed())
    @fuzz_settings(max(1, int(fuzz_cases() * SCHEMA_SHARE)))
    @given(case=schema_case(operations, auth))
    def run(case: HttpCase) -> None:
        send(session, case, local)

    run()
    findings.merge(local)
    assert not local.problems, local.report()


def test_hostile_cases(
    session: httpx.Client, auth: dict[str, dict[str, str]], findings: Findings
) -> None:
    local = Findings()

    @seed(fuzz_seed())
    @fuzz_settings(fuzz_cases() - int(fuzz_cases() * SCHEMA_SHARE))
    @given(case=hostile_case(auth))
    def run(case: HttpCase) -> None:
        send(session, case, local)

    run()
    findings.merge(local)
    assert not local.problems, local.report()


def test_server_up_and_quiet_after_the_run(
    session: httpx.Client,
    auth: dict[str, dict[str, str]],
    log_watch: LogWatch,
    findings: Findings,
    run_started: float,
) -> None:
    print(
        f"\nHTTP fuzz: {findings.cases} cases in {time.monotonic() - run_started:.1f} s, "
        f"seed {fuzz_seed()}: {dict(sorted(findings.outcomes.items()))}"
    )
    assert findings.cases >= fuzz_cases()
    body = {"model": "tiny-qwen2", "messages": [{"role": "user", "content": "hi"}]}
    response = session.post(
        "/v1/chat/completions", json={**body, "max_tokens": 2}, headers=auth["tests"]
    )
    assert response.status_code == 200, response.text
    assert session.get("/health").status_code == 200
    tracebacks = log_watch.tracebacks()
    assert not tracebacks, "\n".join(tracebacks[:20])
