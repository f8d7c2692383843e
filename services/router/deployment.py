"""The router's Ray Serve deployment: the one ingress, over HTTP and gRPC.

It only wires transports to ``Router``; the request path lives in ``core``.
Ray Serve's gRPC proxy calls the methods named after the RPCs.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import aclosing

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, Response
from fleet.v1 import fleet_pb2
from grpc_health.v1 import health_pb2
from pydantic import BaseModel, ConfigDict
from ray import serve
from ray.serve.grpc_util import RayServegRPCContext

from services.api import grpc_handlers, http_handlers
from services.api.http_errors import install_error_handlers
from services.api.openapi import publish_request_bodies
from services.auth.access import AccessControl, KeyRing
from services.auth.config import AUTH_OFF_WARNING, AuthConfig
from services.auth.registry import follow_registry, open_registry, refresh_from
from services.guardrails.audit import GuardAudit
from services.guardrails.checks.windows import SharedEmbedder
from services.guardrails.config import GuardrailsConfig
from services.guardrails.factory import CheckServices
from services.guardrails.policies import GuardPolicies
from services.quotas.gate import ActorKeeper, QuotaGate
from services.router.availability import watch_availability
from services.router.backend import ModelLocation, ServeHandleBackend
from services.router.catalog import ModelCatalog, ServedModel
from services.router.core import Router
from services.router.embedder_client import ServeEmbedder
from services.router.guarding import Guardrails
from services.router.judge_client import BackendJudge
from services.router.requests import ChatCompletionRequest, CompletionRequest
from services.routing.config import RoutingConfig
from services.routing.table import RoutingTable
from services.routing.tokens import HuggingFaceTokenCounter
from services.telemetry.logs import configure_logging
from services.telemetry.metrics import RayMetrics
from services.tls_gateway.config import GatewaySpec
from services.tls_gateway.gateway import keep_gateway_open

logger = logging.getLogger(__name__)


class RouterUserConfig(BaseModel):
    """The router's Ray Serve user_config."""

    model_config = ConfigDict(extra="forbid")

    models: list[ServedModel]
    routing: RoutingConfig
    guardrails: GuardrailsConfig = GuardrailsConfig()
    auth: AuthConfig = AuthConfig()


async def _prepare(policies: GuardPolicies) -> None:
    try:
        await policies.prepare()
    except Exception as error:  # the embedder may still be starting: checks retry on use
        logger.warning("guard checks not prepared yet: %s", type(error).__name__)


http_app = FastAPI(title="llm-fleet", docs_url=None, redoc_url=None)
install_error_handlers(http_app)
publish_request_bodies(
    http_app,
    {"/v1/chat/completions": ChatCompletionRequest, "/v1/completions": CompletionRequest},
)


@serve.deployment(name="router")
@serve.ingress(http_app)
class RouterDeployment:
    def __init__(
        self,
        timeout_s: float,
        embedder_deployment: str,
        embedder_app: str,
        grpc_gateway: dict | None = None,
    ) -> None:
        configure_logging()
        # `fleet up` starts the gRPC TLS gateway itself (to fail fast); a cluster deployed
        # from its Serve config alone (KubeRay) gets it from its router replicas.
        self._grpc_gateway = GatewaySpec.model_validate(grpc_gateway) if grpc_gateway else None
        self._gateway_watch: asyncio.Task[None] | None = None
        backend = ServeHandleBackend(self._locate)
        self._backend = backend
        metrics = RayMetrics()
        self._router = Router(
            ModelCatalog([]),
            backend,
            guardrails=Guardrails(audit=GuardAudit(metrics=metrics)),
            metrics=metrics,
            quotas=QuotaGate(ActorKeeper()),
            timeout_s=timeout_s,
        )
        self._availability_watch: asyncio.Task[None] | None = None
        self._embedder = ServeEmbedder(embedder_deployment, embedder_app)
        # One shared cache, so the injection and topics checks of a request embed each
        # window of its text once.
        self._check_services = CheckServices(
            embedder=SharedEmbedder(self._embedder), judge=BackendJudge(backend)
        )
        self._guard_policies: GuardPolicies | None = None
        self._preparing: asyncio.Task[None] | None = None
        self._token_counter = HuggingFaceTokenCounter({})
        self._tokenizer_sources: dict[str, str] = {}
        self._keys = KeyRing()
        self._keys_watch: asyncio.Task[None] | None = None
        self._warned_auth_off = False

    async def reconfigure(self, user_config: dict) -> None:
        """Ray Serve calls this with the user_config: live model and route changes, no
        restart."""
        live = RouterUserConfig.model_validate(user_config)
        if self._availability_watch is None:
            self._availability_watch = asyncio.create_task(
                watch_availability(
                    self._router.availability, self._model_apps, self._backend.abandon
                )
            )
        sources = {model.name: model.tokenizer for model in live.models}
        if sources != self._tokenizer_sources:
            # A new counter only when the models change: loaded tokenizers are kept
            # across route changes.
            self._token_counter = HuggingFaceTokenCounter(sources)
            self._tokenizer_sources = sources
        table = RoutingTable(
            live.routing, embedder=self._embedder, token_counter=self._token_counter
        )
        if live.guardrails.counts_tokens:
            self._token_counter.preload(sources)
        policies = self._guard_policies
        if policies is None or policies.config != live.guardrails:
            # Built checks (a PII engine, embedded attack corpora) are kept while the
            # guard policies stay the same.
            policies = GuardPolicies(live.guardrails, self._check_services)
            self._guard_policies = policies
            self._preparing = asyncio.create_task(_prepare(policies))
        guardrails = Guardrails(policies, self._token_counter, self._router.guardrails.audit)
        await self._follow_keys(live.auth)
        if self._grpc_gateway is not None and self._gateway_watch is None:
            self._gateway_watch = asyncio.create_task(keep_gateway_open(self._grpc_gateway))
        access = AccessControl(live.auth, self._keys)
        self._router.reconfigure(
            ModelCatalog(live.models), table, guardrails, access, self._token_counter
        )

    async def _follow_keys(self, auth: AuthConfig) -> None:
        """Load the keys before the first request (so a replica never refuses a valid key
        for want of them), then follow the registry."""
        if not auth.enabled:
            if not self._warned_auth_off:
                logger.warning(AUTH_OFF_WARNING)
                self._warned_auth_off = True
            return
        if self._keys_watch is None:
            if auth.keys_file is None:
                raise ValueError("auth.keys_file: the cluster side names the key file")
            await refresh_from(open_registry(auth.keys_file), self._keys)
            self._keys_watch = asyncio.create_task(follow_registry(self._keys))

    def _model_apps(self) -> dict[str, str]:
        catalog = self._router.catalog
        return {name: catalog.get(name).app for name in catalog.names}

    def _locate(self, model: str) -> ModelLocation:
        served = self._router.catalog.get(model)
        return ModelLocation(
            served.deployment, served.app, adapter=served.name if served.adapter_of else None
        )

    def served_names(self) -> list[str]:
        """The models and adapters this replica routes to now (`fleet apply` waits on it)."""
        return self._router.catalog.names

    def routing_config(self) -> dict:
        """The routes this replica applies now (operators and `apply_routes` read it)."""
        return self._router.routing.config.model_dump()

    def guardrails_config(self) -> dict:
        """The guard policies this replica applies now."""
        policies = self._router.guardrails.policies
        return (policies.config if policies else GuardrailsConfig()).model_dump(mode="json")

    def guardrail_stats(self) -> dict:
        """This replica's guard decisions by route, check, category and action."""
        return self._router.guardrails.audit.stats.snapshot()

    def load(self) -> dict:
        """This replica's id and its model calls in flight; `fleet status` sums them over
        the router replicas."""
        replica = serve.get_replica_context().replica_id.unique_id
        return {"replica": replica, "in_flight": self._backend.in_flight}

    def routing_stats(self) -> dict:
        """This replica's per-route counters and the models its breakers skip."""
        return {**self._router.stats.snapshot(), "open_circuits": self._router.open_circuits}

    @http_app.post("/v1/chat/completions")
    async def chat_completions(self, request: Request) -> Response:
        return await http_handlers.chat_completions(self._router, request)

    @http_app.post("/v1/completions")
    async def completions(self, request: Request) -> Response:
        return await http_handlers.completions(self._router, request)

    @http_app.get("/v1/models")
    async def models(self, request: Request) -> Response:
        return http_handlers.list_models(self._router, request)

    @http_app.get("/v1/models/{model:path}")
    async def model(self, request: Request, model: str) -> Response:
        return http_handlers.model_card(self._router, request, model)

    @http_app.get("/health")
    async def health(self) -> Response:
        # Unauthenticated (load balancers probe it), so it names nothing served.
        return JSONResponse({"status": "ok"})

    # gRPC: fleet.v1.FleetService
    async def Generate(
        self, request: fleet_pb2.GenerateRequest, grpc_context: RayServegRPCContext
    ) -> fleet_pb2.GenerateResponse:
        return await grpc_handlers.generate(self._router, request, grpc_context)

    async def GenerateStream(
        self, request: fleet_pb2.GenerateRequest, grpc_context: RayServegRPCContext
    ) -> AsyncIterator[fleet_pb2.GenerateStreamResponse]:
        events = grpc_handlers.generate_stream(self._router, request, grpc_context)
        async with aclosing(events):
            async for event in events:
                yield event

    async def ListModels(
        self, request: fleet_pb2.ListModelsRequest, grpc_context: RayServegRPCContext
    ) -> fleet_pb2.ListModelsResponse:
        return grpc_handlers.list_models(self._router, request, grpc_context)

    # gRPC: grpc.health.v1.Health
    async def Check(
        self, request: health_pb2.HealthCheckRequest, grpc_context: RayServegRPCContext
    ) -> health_pb2.HealthCheckResponse:
        return grpc_handlers.health_check(request, grpc_context)
