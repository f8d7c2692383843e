"""A stream cut by a lost replica, and a caller's deadline metadata, through the gRPC adapter."""

from pathlib import Path

import grpc
import pytest
from fleet.v1 import fleet_pb2

from services.api import grpc_handlers
from services.errors import StreamInterruptedError
from services.router.deadlines import TIMEOUT_HEADER
from tests.unit.api.test_grpc_auth import Setup, chunk, generate_request, with_key


@pytest.fixture
def setup(tmp_path: Path) -> Setup:
    return Setup(tmp_path)


async def test_a_stream_cut_mid_answer_ends_with_an_abort_and_unavailable(setup: Setup) -> None:
    cut = StreamInterruptedError("model 'alpha' failed mid-answer (ActorDiedError)")
    setup.backend.scripts["alpha"] = [chunk("Hel"), cut]
    context = with_key(setup.acme)
    events = [
        event
        async for event in grpc_handlers.generate_stream(setup.router, generate_request(), context)
    ]
    assert [e.delta.text for e in events if e.HasField("delta")] == ["Hel"]
    assert events[-1].end.finish_reason == fleet_pb2.FINISH_REASON_ABORT
    assert context.code is grpc.StatusCode.UNAVAILABLE
    assert "mid-answer" in context.details
    assert dict(context.trailing_metadata)["fleet-finish-reason"] == "abort"


async def test_a_malformed_deadline_is_invalid_argument_naming_it(setup: Setup) -> None:
    context = with_key(setup.acme, (TIMEOUT_HEADER, "soon"))
    async for _ in grpc_handlers.generate_stream(setup.router, generate_request(), context):
        pass
    assert context.code is grpc.StatusCode.INVALID_ARGUMENT
    assert dict(context.trailing_metadata)["fleet-error-param"] == TIMEOUT_HEADER
    assert setup.backend.calls == []
