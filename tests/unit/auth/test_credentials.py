"""Reading the presented key, and the errors a missing or malformed one gets."""

import grpc
import pytest

from services.api.grpc_status import status_code_for
from services.auth.credentials import MALFORMED, MISSING, bearer_token
from services.errors import AuthenticationError, PermissionDeniedError, to_openai_error


@pytest.mark.parametrize("value", ["Bearer flk_abc", "bearer flk_abc", "  Bearer   flk_abc  "])
def test_the_bearer_token_is_read(value: str) -> None:
    assert bearer_token(value) == "flk_abc"


@pytest.mark.parametrize(
    ("value", "message"),
    [(None, MISSING), ("", MISSING), ("Basic dXNlcjpwdw==", MALFORMED), ("Bearer ", MALFORMED)],
)
def test_missing_or_malformed_credentials_are_refused(value: str | None, message: str) -> None:
    with pytest.raises(AuthenticationError) as caught:
        bearer_token(value)

    assert caught.value.message == message
    assert "dXNlcjpwdw" not in caught.value.message  # never echoes what was sent


def test_auth_errors_map_to_401_403_and_their_grpc_codes() -> None:
    body = to_openai_error(AuthenticationError(MISSING))["error"]

    assert (body["code"], body["type"]) == (401, "authentication_error")
    assert to_openai_error(PermissionDeniedError("no"))["error"]["code"] == 403
    assert status_code_for(AuthenticationError) == grpc.StatusCode.UNAUTHENTICATED
    assert status_code_for(PermissionDeniedError) == grpc.StatusCode.PERMISSION_DENIED
