"""A tenant's context limit: the prompt's tokens plus what the request may generate."""

import pytest

from services.auth.access import AccessControl, Caller
from services.auth.config import TenantPolicy
from services.errors import PermissionDeniedError
from tests.unit.auth.test_access import chat, completion


def context_of(ceiling: int | None) -> Caller:
    return Caller(tenant="acme", policy=TenantPolicy(max_context_tokens=ceiling))


def test_no_context_limit_leaves_the_request_unchanged() -> None:
    request = chat(max_tokens=10_000)
    assert AccessControl.limit_context(context_of(None), request, 5_000, "messages") is request


def test_a_request_that_fits_is_unchanged() -> None:
    request = chat(max_tokens=40)
    assert AccessControl.limit_context(context_of(100), request, 60, "messages") is request


def test_a_request_naming_no_limit_gets_the_room_left() -> None:
    assert (
        vars(AccessControl.limit_context(context_of(100), chat(), 70, "messages"))["max_tokens"]
        == 30
    )
    # The completions API's default of 16 is clamped, not refused, when less room is left.
    clamped = AccessControl.limit_context(context_of(100), completion(), 90, "prompt")
    assert vars(clamped)["max_tokens"] == 10


def test_a_prompt_that_fills_the_context_is_a_403_naming_the_prompt_field() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        AccessControl.limit_context(context_of(100), chat(), 100, "messages")
    assert caught.value.param == "messages"
    assert "at most 100 tokens of context" in str(caught.value)


def test_prompt_plus_max_tokens_over_the_limit_is_a_403_naming_max_tokens() -> None:
    with pytest.raises(PermissionDeniedError) as caught:
        AccessControl.limit_context(context_of(100), chat(max_completion_tokens=41), 60, "messages")
    assert caught.value.param == "max_tokens"
    assert "(60 tokens) plus max_tokens (41)" in str(caught.value)
