"""No API key reaches what the cluster writes: after the whole suite's traffic (this test runs
last), every log file of the Ray session, every span exported and the Prometheus metrics are
searched for any key the tests issued, whole or its secret alone."""

from __future__ import annotations

import re
from pathlib import Path

import httpx
import pytest
import ray

from services.auth.keys import KEY_PREFIX, parse_key
from services.auth.store import KeyStore
from tests.integration.conftest import RunningCluster

# Any llm-fleet key at all, including ones tests made and revoked.
ANY_KEY = re.compile(rf"{KEY_PREFIX}_[0-9a-f]{{12}}_[A-Za-z0-9_-]{{43}}".encode())


def session_logs() -> list[Path]:
    """Every file under this Ray session's log folder (every process of the cluster)."""
    session_dir = Path(ray._private.worker._global_node.get_session_dir_path())
    return [path for path in (session_dir / "logs").rglob("*") if path.is_file()]


def leaks(data: bytes, secrets: list[bytes]) -> list[str]:
    found = [match.decode()[:8] + "..." for match in ANY_KEY.findall(data)]
    return found + [f"secret {s[:4].decode()}..." for s in secrets if s in data]


@pytest.mark.last
def test_no_issued_key_in_logs_spans_or_metrics(cluster: RunningCluster) -> None:
    # The session's keys; keys made by tests are caught by their shape.
    secrets = [parse_key(token).secret.encode() for token in cluster.keys.values()]
    assert KeyStore(cluster.key_file).records(), "the suite issued keys"
    findings: dict[str, list[str]] = {}
    logs = session_logs()
    assert logs, "no Ray log files found"
    for path in logs:
        found = leaks(path.read_bytes(), secrets)
        if found:
            findings[str(path)] = found
    spans = cluster.traces.spans()
    assert spans, "no spans were exported"
    for span in spans:
        found = leaks(repr(span).encode(), secrets)
        if found:
            findings[f"span {span.name}"] = found
    metrics = httpx.get(cluster.endpoints.metrics, timeout=30).content
    if found := leaks(metrics, secrets):
        findings["metrics"] = found
    print(f"scanned {len(logs)} log files, {len(spans)} spans, {len(metrics)} bytes of metrics")
    assert findings == {}
