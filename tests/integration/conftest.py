"""One real cluster (Ray + Ray Serve LLM + vLLM on the tiny zoo) shared by every integration test.

Engines take ~25 s each to start, so the whole session shares one deployment:
the embedded default config plus a tensor-parallel twin of the tiny Mixtral.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import openai
import pytest
import ray
from ray import serve
from ray.util.state import list_actors

from cluster.config import ClusterConfig, load_config
from cluster.config.schema import GrpcConfig, HttpConfig, deployment_name
from cluster.launcher import RAY_ENV, Endpoints, deploy
from cluster.rollout import apply_routes
from cluster.status import APP_NAME, ROUTER_DEPLOYMENT
from cluster.zoo import build_zoo
from services.auth.config import AuthConfig, TenantPolicy
from services.auth.store import KeyStore
from services.client import FleetClient
from services.quotas.config import QuotaConfig
from services.routing.config import SplitRouteConfig, VariantConfig
from services.telemetry.config import MetricsConfig, TelemetryConfig, TracingConfig
from services.tls_gateway.config import GrpcTlsConfig, TlsConfig
from tests.support.certs import CertificateAuthority, Issued
from tests.support.otlp_receiver import OtlpReceiver

TEST_HTTP_PORT = 18000
TEST_GRPC_PORT = 19000
TEST_GRPC_TLS_PORT = 19443
TEST_METRICS_PORT = 18080
# The session's OpenTelemetry collector stand-in: every process of the cluster exports
# its spans here over OTLP/gRPC.
TEST_OTLP_GRPC_PORT = 14317
TP2_MODEL = "tiny-mixtral-tp2"
# Served with a tiny request queue, so a burst overloads it (the overload tests).
SMALL_QUEUE_MODEL = "tiny-phi3"
AB_ROUTE = SplitRouteConfig(
    name="chat-ab",
    description="an A/B split of two families, falling back to a third",
    variants=[
        VariantConfig(name="control", model="tiny-qwen2", weight=50),
        VariantConfig(name="treatment", model="tiny-mistral", weight=50),
    ],
    fallbacks=["tiny-phi3"],
)


# The tenants of the session's keys. Every test calls as TESTS unless it is about a tenant.
TESTS = "tests"
ACME = "acme"  # the embedded default's tenant: the rules route's `acme` rule, a guard policy
STRICT = "strict-tenant"  # a guard policy of its own (test_guardrails)
LIMITED = "limited"  # two names, 8 tokens generated and 64 of context at most
MESH = "mesh"  # a trusted upstream: names the tenant it calls for
OVERRIDES = "overrides"  # may ask for the no-account-data guard policy (test_guard_overrides)
LIMITED_POLICY = TenantPolicy(
    models=["tiny-qwen2", AB_ROUTE.name], max_tokens=8, max_context_tokens=64
)
# One quota each (test_quotas), counted over every router replica.
QUOTAS = {
    "rpm-capped": QuotaConfig(requests_per_minute=4),
    "tpm-capped": QuotaConfig(tokens_per_minute=40),
    "streams-capped": QuotaConfig(concurrent_streams=2),
}
# The whole session runs over TLS: HTTPS from Ray Serve's proxy, and the gRPC TLS gateway
# (mutual TLS) in front of the plaintext gRPC proxy. A client certificate with this common
# name calls as LIMITED, vouched for by the gateway's own tenant.
CERTIFICATE_CLIENT = "reports-service"
GATEWAY = "tls-gateway"


@dataclass(frozen=True)
class SessionPki:
    """The certificates of the session: its CA (which the test process trusts for HTTPS),
    the server's, a client certificate mapped to a tenant and one that is not."""

    ca: CertificateAuthority
    server: Issued
    mapped_client: Issued
    plain_client: Issued

    @classmethod
    def make(cls, folder: Path) -> SessionPki:
        ca = CertificateAuthority(folder, "fleet-test-ca")
        return cls(
            ca=ca,
            server=ca.issue("fleet-server", server=True),
            mapped_client=ca.issue(CERTIFICATE_CLIENT),
            plain_client=ca.issue("some-service"),
        )


@dataclass(frozen=True)
class RunningCluster:
    config: ClusterConfig
    endpoints: Endpoints
    traces: OtlpReceiver
    """Where every process of the cluster exports its spans."""
    keys: dict[str, str] = field(default_factory=dict)
    """A key per tenant above, as callers present them."""
    pki: SessionPki | None = None
    """The session's certificates (the session runs over TLS)."""

    @property
    def model_names(self) -> list[str]:
        return [model.name for model in self.config.models]

    @property
    def key_file(self) -> Path:
        assert self.config.auth.keys_file is not None
        return Path(self.config.auth.keys_file)

    def headers(self, tenant: str = TESTS) -> dict[str, str]:
        """HTTP headers that authenticate as ``tenant``."""
        return {"Authorization": f"Bearer {self.keys[tenant]}"}

    def metadata(self, tenant: str = TESTS) -> list[tuple[str, str]]:
        """gRPC metadata that authenticates as ``tenant``."""
        return [("authorization", f"Bearer {self.keys[tenant]}")]


def integration_auth(config: ClusterConfig, key_file: Path) -> AuthConfig:
    tenants = {
        **config.auth.tenants,
        STRICT: TenantPolicy(),
        LIMITED: LIMITED_POLICY,
        MESH: TenantPolicy(),
        GATEWAY: TenantPolicy(),
        OVERRIDES: TenantPolicy(guard_policies=["no-account-data"]),
        **{tenant: TenantPolicy(quotas=quotas) for tenant, quotas in QUOTAS.items()},
    }
    return config.auth.model_copy(
        update={
            "keys_file": str(key_file),
            "tenants": tenants,
            "trusted_upstreams": [MESH, GATEWAY],
        }
    )


def issue_keys(key_file: Path) -> dict[str, str]:
    store = KeyStore(key_file)
    keys = {
        tenant: store.create(tenant=tenant, name="integration tests")[0].token
        for tenant in (TESTS, ACME, STRICT, LIMITED, MESH, OVERRIDES, *QUOTAS)
    }
    return keys


def integration_tls(pki: SessionPki) -> tuple[HttpConfig, GrpcConfig]:
    server = {"cert_file": str(pki.server.cert_file), "key_file": str(pki.server.key_file)}
    gateway = GrpcTlsConfig(
        **server,
        port=TEST_GRPC_TLS_PORT,
        client_ca_file=str(pki.ca.cert_file),
        client_tenants={CERTIFICATE_CLIENT: LIMITED},
        upstream_tenant=GATEWAY,
    )
    return (
        HttpConfig(host="127.0.0.1", port=TEST_HTTP_PORT, tls=TlsConfig(**server)),
        GrpcConfig(host="127.0.0.1", port=TEST_GRPC_PORT, tls=gateway),
    )


def integration_config(key_file: Path, pki: SessionPki) -> ClusterConfig:
    config = load_config()
    mixtral = config.model("tiny-mixtral")
    tp2 = mixtral.model_copy(
        update={
            "name": TP2_MODEL,
            "description": "the tiny Mixtral sharded over 2 CPU workers",
            "engine": mixtral.engine.model_copy(update={"tensor_parallel_size": 2}),
        }
    )
    models = [
        model.model_copy(update={"max_ongoing_requests": 2, "max_queued_requests": 1})
        if model.name == SMALL_QUEUE_MODEL
        else model
        for model in config.models
    ]
    http, grpc = integration_tls(pki)
    return config.model_copy(
        update={
            "http": http,
            "grpc": grpc,
            "models": [*models, tp2],
            "routes": [*config.routes, AB_ROUTE],
            "auth": integration_auth(config, key_file),
            "telemetry": TelemetryConfig(
                tracing=TracingConfig(
                    exporter="otlp-grpc", endpoint=f"http://127.0.0.1:{TEST_OTLP_GRPC_PORT}"
                ),
                metrics=MetricsConfig(port=TEST_METRICS_PORT),
            ),
        }
    )


@pytest.fixture(scope="session")
def otlp_receiver(cluster: RunningCluster) -> OtlpReceiver:
    return cluster.traces


@pytest.fixture(scope="session")
def cluster() -> Iterator[RunningCluster]:
    build_zoo()
    key_file = Path(tempfile.mkdtemp(prefix="fleet-keys-")) / "keys.json"
    keys = issue_keys(key_file)
    pki = SessionPki.make(Path(tempfile.mkdtemp(prefix="fleet-pki-")))
    config = integration_config(key_file, pki)
    os.environ.update(RAY_ENV)
    ray.init(
        address="local",
        num_cpus=config.ray.num_cpus,
        log_to_driver=False,
        _metrics_export_port=config.telemetry.metrics.port,
        # Workers push metrics to the node's agent every 10 s by default; tests wait less.
        _system_config={"metrics_report_interval_ms": 1000},
    )
    # Ray's state API and our CLI find the cluster through RAY_ADDRESS, never through a
    # leftover /tmp/ray/ray_current_cluster of another cluster.
    os.environ["RAY_ADDRESS"] = ray.get_runtime_context().gcs_address
    # Only after `ray.init`: a gRPC server running in this process while Ray forks its
    # dashboard can abort that child (return code -6), and Ray's state API then fails for
    # the whole session.
    receiver = OtlpReceiver(grpc_port=TEST_OTLP_GRPC_PORT).start()
    # httpx (and so OpenAI's client) trusts the session's CA through the standard variable.
    os.environ["SSL_CERT_FILE"] = str(pki.ca.cert_file)
    try:
        endpoints = deploy(config, timeout_s=900)
        yield RunningCluster(
            config=config, endpoints=endpoints, traces=receiver, keys=keys, pki=pki
        )
    finally:
        receiver.stop()
        serve.shutdown()
        ray.shutdown()
        for variable in ("RAY_ADDRESS", "SSL_CERT_FILE"):
            os.environ.pop(variable, None)


def model_replica_ids() -> set[str]:
    """The live actors of every model replica (a restart gives new ids)."""
    return {
        actor.actor_id
        for actor in list_actors(filters=[("state", "=", "ALIVE")], limit=1000)
        if "model-" in (actor.class_name or "")
    }


def router_stats() -> dict:
    """One router replica's per-route counters."""
    handle = serve.get_deployment_handle(ROUTER_DEPLOYMENT, app_name=APP_NAME)
    return handle.routing_stats.remote().result()


@pytest.fixture
def restore_routes(cluster: RunningCluster):  # noqa: ANN201 - a yield fixture
    yield
    apply_routes(cluster.config)


def seconds_until(check: Callable[[], bool], timeout_s: float) -> float:
    """Seconds until ``check()`` holds, polled every 0.1 s; fails after ``timeout_s``."""
    started = time.monotonic()
    while not check():
        assert time.monotonic() - started < timeout_s, "not within the time allowed"
        time.sleep(0.1)
    return time.monotonic() - started


def unfinished_engine_requests(model: str) -> int:
    """What the model's vLLM engine is still working on (aborted requests excluded)."""
    handle = serve.get_deployment_handle(deployment_name(model), app_name=deployment_name(model))
    return handle.unfinished_requests.remote().result()


def wait_for_idle_engine(model: str, timeout_s: float) -> float:
    """Seconds until the engine has no unfinished request; fails after ``timeout_s``."""
    started = time.monotonic()
    while unfinished_engine_requests(model) > 0:
        if time.monotonic() - started > timeout_s:
            raise AssertionError(f"{model} still generating after {timeout_s} s")
        time.sleep(0.02)
    return time.monotonic() - started


LONG_GENERATION_MODEL = "tiny-mistral"
# Random weights never emit EOS, so this runs to max_tokens: a long generation.
LONG = {"prompt": "status", "max_tokens": 1000, "temperature": 0.0}


@pytest.fixture(scope="session")
def full_generation_s(grpc_client: FleetClient) -> float:
    """How long the long generation takes when nobody stops it."""
    started = time.monotonic()
    answer = grpc_client.generate(model=LONG_GENERATION_MODEL, **LONG)
    assert answer.usage.completion_tokens == LONG["max_tokens"]
    return time.monotonic() - started


@pytest.fixture(scope="session")
def grpc_client(cluster: RunningCluster) -> Iterator[FleetClient]:
    with FleetClient(
        cluster.endpoints.grpc, api_key=cluster.keys[TESTS], timeout=60, max_retries=0
    ) as client:
        yield client


@pytest.fixture(scope="session")
def client(cluster: RunningCluster) -> openai.OpenAI:
    return openai_client(cluster)


def openai_client(cluster: RunningCluster, tenant: str = TESTS, **options: object) -> openai.OpenAI:
    """OpenAI's own client, authenticated as ``tenant``."""
    return openai.OpenAI(
        base_url=cluster.endpoints.http,
        api_key=cluster.keys[tenant],
        **{"max_retries": 0, **options},  # type: ignore[arg-type]
    )


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in item.nodeid.split("/"):
            item.add_marker(pytest.mark.integration)
    # Stable: the rest keep their order.
    items.sort(
        key=lambda item: (
            item.get_closest_marker("teardown") is not None,
            item.get_closest_marker("last") is not None,
            item.get_closest_marker("soak") is not None,
        )
    )
