"""The typed cluster configuration: what ``deploy/configs/*.yaml`` may say.

Validation is structural only (no file or network access here); checks that
need the outside world (a model folder exists, vLLM knows an engine argument)
run once at the edge, in ``cluster.config.checks``.
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cluster.config.kubernetes import KubernetesConfig
from cluster.config.lora import LoraConfig, adapter_model_name
from services.auth.config import ANY, AuthConfig
from services.embedder.config import EmbedderConfig
from services.guardrails.check_config import JudgeCheckConfig
from services.guardrails.config import GuardrailsConfig
from services.router.breaker import CircuitBreakerConfig
from services.routing.config import DEFAULT_MAX_REQUEST_BYTES, RouteConfig, RoutingConfig
from services.telemetry.config import TelemetryConfig
from services.tls_gateway.config import GrpcTlsConfig, TlsConfig

# Model names become Ray Serve deployment names and URL path parts.
MODEL_NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,99}$"
ZOO_PREFIX = "zoo:"


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class EngineConfig(StrictModel):
    """vLLM engine settings for one model."""

    tensor_parallel_size: Annotated[int, Field(ge=1, le=64)] = 1
    """GPUs (or CPU workers) one replica shards the model over."""
    max_model_len: Annotated[int, Field(ge=16)] | None = None
    """Context length in tokens; None takes the model's own."""
    dtype: Literal["auto", "float32", "float16", "bfloat16"] = "auto"
    quantization: str | None = None
    """A vLLM quantization method (awq, gptq, fp8, ...); None for unquantized weights."""
    max_num_seqs: Annotated[int, Field(ge=1)] | None = None
    """Upper bound on sequences batched together per engine step."""
    enable_prefix_caching: bool | None = None
    enforce_eager: bool | None = None
    extra_args: dict[str, object] = Field(default_factory=dict)
    """Further vLLM engine arguments, passed through; names are checked against vLLM."""

    @model_validator(mode="after")
    def _extra_args_do_not_shadow_fields(self) -> EngineConfig:
        shadowed = sorted(set(self.extra_args) & set(type(self).model_fields))
        if shadowed:
            raise ValueError(f"set {', '.join(shadowed)} directly, not under extra_args")
        return self


class AutoscalingConfig(StrictModel):
    """Ray Serve autoscaling for one model's replicas."""

    min_replicas: Annotated[int, Field(ge=0)] = 1
    max_replicas: Annotated[int, Field(ge=1)] = 1
    target_ongoing_requests: Annotated[float, Field(gt=0)] = 8
    upscale_delay_s: Annotated[float, Field(ge=0)] = 30
    downscale_delay_s: Annotated[float, Field(ge=0)] = 300
    look_back_period_s: Annotated[float, Field(gt=0)] = 30
    """The window over which ongoing requests are averaged for a decision."""

    @model_validator(mode="after")
    def _bounds_are_ordered(self) -> AutoscalingConfig:
        if self.min_replicas > self.max_replicas:
            raise ValueError(
                f"min_replicas ({self.min_replicas}) exceeds max_replicas ({self.max_replicas})"
            )
        return self


class ResourceConfig(StrictModel):
    """What one engine worker (one tensor-parallel shard) reserves in Ray.

    A replica's workers all land on one node (tensor parallelism needs its shards
    side by side), so a node must offer ``tensor_parallel_size`` times this.
    """

    cpus_per_worker: Annotated[float, Field(ge=0)] = 1
    gpus_per_worker: Annotated[float, Field(ge=0)] | None = None
    """Defaults to 1 on a GPU cluster and 0 on a CPU one."""
    accelerator_type: str | None = None
    """A Ray accelerator type such as A10G or H100, to pin replicas to those nodes."""
    custom: dict[Annotated[str, Field(min_length=1)], Annotated[float, Field(gt=0)]] = Field(
        default_factory=dict
    )
    """Custom Ray resources per worker, e.g. ``{pool-a: 1}`` to place the model only on
    nodes started with ``ray start --resources '{"pool-a": N}'``."""

    @field_validator("custom")
    @classmethod
    def _custom_names_are_not_builtin(cls, custom: dict[str, float]) -> dict[str, float]:
        builtin = sorted(set(custom) & {"CPU", "GPU", "memory", "object_store_memory"})
        if builtin:
            raise ValueError(f"{', '.join(builtin)}: set cpus_per_worker/gpus_per_worker instead")
        return custom


class StreamingConfig(StrictModel):
    """How a model's streamed tokens are grouped on their way to the caller: the first
    text goes out at once, later tokens in messages of up to ``coalesce_ms`` of output."""

    coalesce_ms: Annotated[float, Field(ge=0, le=1000)] = 50
    """Longest a token waits for others before it leaves; 0 sends every token alone (one
    message per token through every hop: the most CPU)."""
    max_chunks: Annotated[int, Field(ge=1)] = 32
    """A message leaves as soon as this many tokens wait, whatever the time."""


class ModelConfig(StrictModel):
    """One served model: one Ray Serve deployment of vLLM engines."""

    name: Annotated[str, Field(pattern=MODEL_NAME_PATTERN)]
    """The name callers put in the request's ``model`` field."""
    source: Annotated[str, Field(min_length=1)]
    """A hub id (org/model), a local folder, or ``zoo:<name>`` for a generated tiny model."""
    description: str = ""
    engine: EngineConfig = Field(default_factory=EngineConfig)
    replicas: Annotated[int, Field(ge=1)] | None = None
    """A fixed replica count; leave unset to use ``autoscaling``."""
    autoscaling: AutoscalingConfig | None = None
    max_ongoing_requests: Annotated[int, Field(ge=1)] = 64
    """Requests one replica takes at once before Ray Serve queues at the caller."""
    max_queued_requests: Annotated[int, Field(ge=-1)] = 64
    """Requests queued per caller (router replica) beyond that before new ones are refused
    at once as overload (HTTP 429 + Retry-After, gRPC RESOURCE_EXHAUSTED), before any
    engine work; -1 queues without limit (Ray Serve's default), which turns overload into
    ever longer waits and timeouts."""
    graceful_shutdown_timeout_s: Annotated[float, Field(ge=0)] = 30
    """How long a replica being stopped (a scale-down, `fleet down`) may take to finish the
    requests it holds; it takes no new ones meanwhile."""
    resources: ResourceConfig = Field(default_factory=ResourceConfig)
    streaming: StreamingConfig = Field(default_factory=StreamingConfig)
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables for this model's engine processes."""
    lora: LoraConfig | None = None
    """LoRA adapters served beside this model (vLLM's multi-LoRA); None serves none."""

    @model_validator(mode="after")
    def _one_scaling_mode(self) -> ModelConfig:
        if self.replicas is not None and self.autoscaling is not None:
            raise ValueError("set either replicas or autoscaling, not both")
        return self

    @property
    def is_zoo_model(self) -> bool:
        return self.source.startswith(ZOO_PREFIX)

    @property
    def adapter_names(self) -> list[str]:
        """What callers name this model's adapters: ``<model>:<adapter>``."""
        adapters = self.lora.adapters if self.lora else []
        return [adapter_model_name(self.name, adapter.name) for adapter in adapters]


Port = Annotated[int, Field(ge=1, le=65535)]


class EndpointConfig(StrictModel):
    host: str = "127.0.0.1"
    port: Port


class HttpConfig(EndpointConfig):
    port: Port = 8000
    tls: TlsConfig | None = None
    """HTTPS in Ray Serve's own HTTP proxy (no client certificates: terminate mutual TLS in
    front). Fixed while the cluster runs."""


class GrpcConfig(EndpointConfig):
    """Ray Serve's gRPC proxy listens on every interface at ``port``, in plaintext: keep that
    port inside the cluster. ``host`` is only the address `fleet up` prints for clients."""

    port: Port = 9000
    tls: GrpcTlsConfig | None = None
    """The TLS gateway in front of it, on the head node (``tls.port``). Fixed while the
    cluster runs."""


class RayConfig(StrictModel):
    """Where the Ray cluster is."""

    address: str | None = None
    """A running cluster to join (``auto`` or ``host:port``); None starts a local one."""
    num_cpus: Annotated[int, Field(ge=1)] | None = 8
    """Logical CPUs a local Ray offers. Bookkeeping only: more than the cores is fine."""


class RouterConfig(StrictModel):
    """The ingress deployment in front of the models."""

    replicas: Annotated[int, Field(ge=1)] = 1
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    """Models tried per request at most (first choice plus fallbacks)."""
    first_token_timeout_s: Annotated[float, Field(gt=0)] = 60
    """Seconds one model may take to send its first item before the next in the route's
    chain is tried (queueing included)."""
    replica_retries: Annotated[int, Field(ge=0, le=5)] = 2
    """Times a request goes to the same model again when a replica failed before sending
    anything (Ray Serve picks another replica, or the restarted one), before fallbacks."""
    circuit_breaker: CircuitBreakerConfig = Field(default_factory=CircuitBreakerConfig)
    """When a model that keeps failing is skipped, and for how long."""
    max_request_bytes: Annotated[int, Field(ge=1024)] = DEFAULT_MAX_REQUEST_BYTES
    """The largest HTTP request body (1 MiB: a 32k-token context is ~130 kB of text); a
    larger one gets 413 before it is read whole. gRPC keeps its own 4 MiB message limit."""
    max_ongoing_requests: Annotated[int, Field(ge=1)] = 256
    max_queued_requests: Annotated[int, Field(ge=-1)] = -1
    request_timeout_s: Annotated[float, Field(gt=0)] = 600
    graceful_shutdown_timeout_s: Annotated[float, Field(ge=0)] = 30
    """How long `fleet down` (and a router scale-down) waits for requests in flight to
    finish before stopping a router replica; new requests are refused meanwhile."""


class ClusterConfig(StrictModel):
    """The root of a cluster configuration file."""

    name: Annotated[str, Field(pattern=MODEL_NAME_PATTERN)] = "llm-fleet"
    device: Literal["cpu", "gpu"] = "cpu"
    ray: RayConfig = Field(default_factory=RayConfig)
    http: HttpConfig = Field(default_factory=HttpConfig)
    grpc: GrpcConfig = Field(default_factory=GrpcConfig)
    proxy_location: Literal["EveryNode", "HeadOnly"] = "EveryNode"
    """Where Ray Serve runs its HTTP and gRPC proxies: on every node that hosts a replica
    (behind a load balancer), or only on the head. Several Ray nodes on one machine share
    its ports, so there the head alone must own them. Fixed while the cluster runs."""
    router: RouterConfig = Field(default_factory=RouterConfig)
    embedder: EmbedderConfig = Field(default_factory=EmbedderConfig)
    """The sentence-embedding deployment semantic routes call."""
    env: dict[str, str] = Field(default_factory=dict)
    """Environment variables for every model's engine processes."""
    models: Annotated[list[ModelConfig], Field(min_length=1)]
    routes: list[RouteConfig] = Field(default_factory=list)
    """Aliases callers name instead of a model: A/B splits, rules or semantic routes, each
    with fallbacks."""
    guardrails: GuardrailsConfig = Field(default_factory=GuardrailsConfig)
    """Guard policies (checks on prompts and completions) and the routes, models and
    tenants they apply to."""
    kubernetes: KubernetesConfig = Field(default_factory=KubernetesConfig)
    """How `fleet render kuberay` lays the cluster out on Kubernetes."""
    telemetry: TelemetryConfig = Field(default_factory=TelemetryConfig)
    """Traces (OpenTelemetry exporters), the Prometheus metrics port and the log format."""
    auth: AuthConfig = Field(default_factory=AuthConfig)
    """API keys and what each tenant may reach; on unless turned off here."""

    def served_names(self) -> set[str]:
        """The models and adapters callers (and routes) may name."""
        return {name for model in self.models for name in (model.name, *model.adapter_names)}

    @model_validator(mode="after")
    def _tenants_name_served_things(self) -> ClusterConfig:
        callable_names = self.served_names() | {r.name for r in self.routes}
        policies = [("defaults", self.auth.defaults)]
        policies += [(f"tenants.{name}", policy) for name, policy in self.auth.tenants.items()]
        for where, policy in policies:
            unknown = sorted(set(policy.models) - callable_names - {ANY})
            if unknown:
                raise ValueError(
                    f"auth.{where}.models: not a served model or route: {', '.join(unknown)}"
                )
        return self

    @model_validator(mode="after")
    def _grpc_tls_fits(self) -> ClusterConfig:
        tls = self.grpc.tls
        if tls is None:
            return self
        if tls.port in (self.grpc.port, self.http.port):
            raise ValueError(f"grpc.tls.port: {tls.port} is already the HTTP or gRPC port")
        # The gateway names certificates' tenants to the router as a trusted upstream.
        vouched = tls.upstream_tenant in self.auth.trusted_upstreams
        if tls.client_tenants and self.auth.enabled and not vouched:
            raise ValueError(
                "grpc.tls.upstream_tenant: client_tenants need a tenant for the gateway "
                "that auth.trusted_upstreams lists"
                + (f" ('{tls.upstream_tenant}' is not there)" if tls.upstream_tenant else "")
            )
        return self

    @model_validator(mode="after")
    def _tenant_guard_policies_exist(self) -> ClusterConfig:
        # A tenant may only ask for policies this config defines (x-fleet-guard-policy).
        defined = {policy.name for policy in self.guardrails.policies}
        policies = [("defaults", self.auth.defaults)]
        policies += [(f"tenants.{name}", policy) for name, policy in self.auth.tenants.items()]
        for where, policy in policies:
            unknown = sorted(set(policy.guard_policies) - defined)
            if unknown:
                raise ValueError(
                    f"auth.{where}.guard_policies: not a policy under guardrails.policies: "
                    f"{', '.join(unknown)}"
                )
        return self

    @model_validator(mode="after")
    def _guardrails_name_served_things(self) -> ClusterConfig:
        models = self.served_names()
        callable_names = models | {route.name for route in self.routes}
        for key in self.guardrails.routes:
            if key not in callable_names:
                raise ValueError(
                    f"guardrails.routes.{key}: not a served model or route; known: "
                    f"{', '.join(sorted(callable_names))}"
                )
        for index, policy in enumerate(self.guardrails.policies):
            for position, check in enumerate(policy.checks):
                judge = getattr(check, "model", None)
                if isinstance(check, JudgeCheckConfig) and judge not in models:
                    raise ValueError(
                        f"guardrails.policies[{index}] (name: {policy.name}).checks"
                        f"[{position}].model: '{judge}' is not a served model"
                    )
        return self

    @model_validator(mode="after")
    def _routes_name_served_models(self) -> ClusterConfig:
        models = self.served_names()
        seen: set[str] = set()
        for index, route in enumerate(self.routes):
            where = f"routes[{index}] (name: {route.name})"
            if route.name in models or route.name in seen:
                raise ValueError(f"{where}.name: already a model or route name")
            seen.add(route.name)
            unknown = sorted(route.referenced_models() - models)
            if unknown:
                raise ValueError(f"{where}: names models that are not served: {', '.join(unknown)}")
        return self

    def routing(self) -> RoutingConfig:
        """The router's live configuration (its Ray Serve user_config)."""
        return RoutingConfig(
            routes=self.routes,
            max_attempts=self.router.max_attempts,
            first_token_timeout_s=self.router.first_token_timeout_s,
            replica_retries=self.router.replica_retries,
            circuit_breaker=self.router.circuit_breaker,
            max_request_bytes=self.router.max_request_bytes,
        )

    @field_validator("models")
    @classmethod
    def _names_are_unique(cls, models: list[ModelConfig]) -> list[ModelConfig]:
        seen: set[str] = set()
        for model in models:
            key = model.name.lower()
            if key in seen:
                raise ValueError(f"model name '{model.name}' is used twice")
            seen.add(key)
        return models

    def model(self, name: str) -> ModelConfig:
        for model in self.models:
            if model.name == name:
                return model
        raise KeyError(name)


MODEL_APP_PREFIX = "model-"


def deployment_name(model_name: str) -> str:
    """The Ray Serve deployment (and application) name of a model (Serve forbids some
    characters)."""
    return MODEL_APP_PREFIX + re.sub(r"[^A-Za-z0-9_\-]", "_", model_name)
