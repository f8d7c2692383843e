"""Operators and tenants hold different credentials: the verbs that change the cluster go
through Ray, which lets in only the Ray cluster token; tenant API keys open the HTTP and gRPC
model endpoints and nothing else."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from cluster.launcher import RAY_TOKEN_ENV
from tests.integration.conftest import TESTS, RunningCluster, model_replica_ids

REPO = Path(__file__).resolve().parents[2]
FLEET = [str(Path(sys.executable).with_name("fleet"))]
DASHBOARD = "http://127.0.0.1:8265"


def fleet_as(credential: str, *args: str) -> subprocess.CompletedProcess[str]:
    """A `fleet` command presenting ``credential`` as the Ray cluster token."""
    env = {**os.environ, RAY_TOKEN_ENV: credential}
    return subprocess.run(
        [*FLEET, *args], cwd=REPO, env=env, capture_output=True, text=True, timeout=180
    )


def test_a_tenant_key_cannot_run_the_verbs_that_change_the_cluster(
    cluster: RunningCluster,
) -> None:
    replicas = model_replica_ids()
    refused = fleet_as(cluster.keys[TESTS], "scale", "tiny-qwen2", "--replicas", "2")
    assert refused.returncode != 0
    assert "did not let this command in" in refused.stderr + refused.stdout
    assert model_replica_ids() == replicas  # nothing changed


def test_the_http_port_serves_no_control_verb(cluster: RunningCluster) -> None:
    root = cluster.endpoints.http.removesuffix("/v1")
    for method, path in [
        ("PUT", "/api/serve/applications/"),
        ("DELETE", "/api/serve/applications/"),
        ("POST", "/v1/scale"),
    ]:
        response = httpx.request(method, root + path, headers=cluster.headers(), timeout=30)
        assert response.status_code in (404, 405), (method, path, response.status_code)


def test_rays_own_control_api_refuses_tenant_keys(cluster: RunningCluster) -> None:
    """The dashboard's Serve REST API (what `serve deploy` calls) takes only the Ray token."""
    url = f"{DASHBOARD}/api/serve/applications/"
    try:
        assert httpx.get(url, timeout=10).status_code == 401
    except httpx.ConnectError:
        pytest.skip("no Ray dashboard in this session")
    tenant = cluster.headers()
    assert httpx.get(url, headers=tenant, timeout=10).status_code == 403
    emptied = httpx.put(url, json={"applications": []}, headers=tenant, timeout=10)
    assert emptied.status_code == 403
    assert model_replica_ids()  # still serving


def test_the_grpc_port_offers_only_the_model_services(cluster: RunningCluster) -> None:
    with grpc.insecure_channel(cluster.endpoints.grpc) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        request = reflection_pb2.ServerReflectionRequest(list_services="")
        answer = next(iter(stub.ServerReflectionInfo(iter([request]), timeout=10)))
    services = {service.name for service in answer.list_services_response.service}
    assert services <= {
        "fleet.v1.FleetService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1alpha.ServerReflection",
        "grpc.reflection.v1.ServerReflection",
        # Ray Serve's own, read-only: application names and a liveness check.
        "ray.serve.RayServeAPIService",
    }, services
