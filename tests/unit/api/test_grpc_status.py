import asyncio
import pickle
from http import HTTPStatus

import grpc
import pytest

from services.api.grpc_status import (
    ERROR_PARAM_KEY,
    ERROR_TYPE_KEY,
    GrpcStatus,
    apply_status,
    status_code_for,
    to_grpc_status,
)
from services.errors import (
    ClientError,
    DeadlineExceededError,
    FleetError,
    InvalidRequestError,
    ModelNotFoundError,
    OverloadedError,
    RequestTooLargeError,
    RetryableError,
    ServerError,
)


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (InvalidRequestError("bad", param="temperature"), grpc.StatusCode.INVALID_ARGUMENT),
        (ModelNotFoundError("gamma", ["alpha"]), grpc.StatusCode.NOT_FOUND),
        (OverloadedError("busy"), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (RetryableError("try again"), grpc.StatusCode.UNAVAILABLE),
        (DeadlineExceededError("late"), grpc.StatusCode.DEADLINE_EXCEEDED),
        (ClientError("wrong"), grpc.StatusCode.INVALID_ARGUMENT),
        (RequestTooLargeError(1024), grpc.StatusCode.RESOURCE_EXHAUSTED),
        (ServerError("oops"), grpc.StatusCode.INTERNAL),
        (FleetError("oops"), grpc.StatusCode.INTERNAL),
    ],
)
def test_each_error_class_has_its_code(error: FleetError, code: grpc.StatusCode) -> None:
    assert to_grpc_status(error).code is code


class BlockedError(ClientError):
    http_status = HTTPStatus.FORBIDDEN


class PreconditionError(ClientError):
    http_status = HTTPStatus.UNPROCESSABLE_ENTITY


class UpstreamError(ServerError):
    http_status = HTTPStatus.BAD_GATEWAY


def test_new_error_classes_map_through_their_http_status() -> None:
    assert status_code_for(BlockedError) is grpc.StatusCode.PERMISSION_DENIED
    assert status_code_for(PreconditionError) is grpc.StatusCode.FAILED_PRECONDITION
    assert status_code_for(UpstreamError) is grpc.StatusCode.INTERNAL


def test_details_and_trailing_metadata_carry_the_message_type_and_param() -> None:
    status = to_grpc_status(ModelNotFoundError("gamma", ["beta", "alpha"]))

    assert status.details == "The model 'gamma' does not exist. Models served: alpha, beta."
    assert dict(status.trailing_metadata) == {
        ERROR_TYPE_KEY: "model_not_found",
        ERROR_PARAM_KEY: "model",
    }


def test_foreign_errors_do_not_leak_their_text() -> None:
    status = to_grpc_status(KeyError("secret internal state"))

    assert status.code is grpc.StatusCode.INTERNAL
    assert "secret" not in status.details
    assert to_grpc_status(asyncio.CancelledError()).code is grpc.StatusCode.CANCELLED
    assert to_grpc_status(TimeoutError()).code is grpc.StatusCode.DEADLINE_EXCEEDED


class RecordingContext:
    def __init__(self) -> None:
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.trailing_metadata: list[tuple[str, str]] = []

    def set_code(self, code: grpc.StatusCode) -> None:
        self.code = code

    def set_details(self, details: str) -> None:
        self.details = details

    def set_trailing_metadata(self, trailing_metadata: list[tuple[str, str]]) -> None:
        self.trailing_metadata = trailing_metadata


def test_apply_status_sets_code_details_and_metadata() -> None:
    context = RecordingContext()

    apply_status(context, GrpcStatus(grpc.StatusCode.NOT_FOUND, "gone", (("k", "v"),)))

    assert (context.code, context.details, context.trailing_metadata) == (
        grpc.StatusCode.NOT_FOUND,
        "gone",
        [("k", "v")],
    )


def test_overload_says_when_to_retry_over_both_transports() -> None:
    from services.api.http_errors import error_response

    error = OverloadedError("model 'alpha' is at capacity", retry_after_s=1.5)
    assert dict(to_grpc_status(error).trailing_metadata)["fleet-retry-after-s"] == "1.5"
    response = error_response(error)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "2"
    assert pickle.loads(pickle.dumps(error)).retry_after_s == 1.5
    assert error_response(ServerError("oops")).headers.get("Retry-After") is None
