from __future__ import annotations

import pickle
from http import HTTPStatus

from services.errors import ClientError, GuardViolation, to_openai_error


def test_guard_violation_is_a_400_guardrail_violation_naming_check_and_category() -> None:
    error = GuardViolation("pii", "CREDIT_CARD")
    assert isinstance(error, ClientError)
    assert error.http_status == HTTPStatus.BAD_REQUEST
    body = to_openai_error(error)["error"]
    assert body["type"] == "guardrail_violation" and body["code"] == 400
    assert "'pii'" in body["message"] and "CREDIT_CARD" in body["message"]
    assert "prompt" in body["message"]
    assert "completion" in GuardViolation("kw", "KEYWORD", direction="output").message


def test_guard_violation_survives_pickling_between_processes() -> None:
    error = pickle.loads(pickle.dumps(GuardViolation("secrets", "AWS_KEY", direction="output")))
    assert (error.check, error.category, error.direction) == ("secrets", "AWS_KEY", "output")
    assert error.message == str(error)
