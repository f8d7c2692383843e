"""The gRPC TLS gateway: a grpcio TLS server (optionally requiring client certificates) on
the head node, in front of Ray Serve's plaintext gRPC proxy on the same node.

It runs as a detached Ray actor (``llm-fleet-grpc-tls``) that `fleet up` starts and
`fleet down` stops, serving from a thread of its own with its own event loop. The
certificate files are read again when they change (a renewed certificate needs no
restart). For certificate-identified clients it holds a session key in memory for
``upstream_tenant`` and keeps it admitted at the key registry (``services.auth.registry``).
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import ray
from fleet.v1 import fleet_pb2
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2

from services.actors import NAMESPACE, open_singleton, stop_singleton
from services.auth.keys import ApiKey, issue_key, secret_digest
from services.auth.registry import open_registry
from services.auth.store import KeyRecord
from services.tls_gateway.config import GatewaySpec, GrpcTlsConfig
from services.tls_gateway.identity import (
    certificate_identities,
    certificate_tenant,
    forwarded_metadata,
)
from services.tls_gateway.passthrough import PassThrough, method_shapes

logger = logging.getLogger(__name__)

GATEWAY_NAME = "llm-fleet-grpc-tls"
SESSION_KEY_NAME = "grpc tls gateway"
# Renewed well within the registry's TTL (services.auth.registry.SESSION_KEY_TTL_S).
SESSION_KEY_RENEW_S = 10.0
START_TIMEOUT_S = 30.0
# How often each router replica makes sure the gateway runs.
GATEWAY_CHECK_S = 5.0
PUBLISHED_SERVICES = (
    fleet_pb2.DESCRIPTOR.services_by_name["FleetService"],
    health_pb2.DESCRIPTOR.services_by_name["Health"],
    reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"],
)


class CertificateFiles:
    """The PEM files of a ``GrpcTlsConfig``, and whether they changed since last read."""

    def __init__(self, config: GrpcTlsConfig) -> None:
        self.config = config
        self._stamps = self._read_stamps()

    def _paths(self) -> list[str]:
        return [
            path
            for path in (self.config.cert_file, self.config.key_file, self.config.client_ca_file)
            if path is not None
        ]

    def _read_stamps(self) -> list[tuple[int, int]]:
        return [(os.stat(path).st_ino, os.stat(path).st_mtime_ns) for path in self._paths()]

    def certificate_configuration(self) -> Any:
        config = self.config
        root = Path(config.client_ca_file).read_bytes() if config.client_ca_file else None
        pair = (Path(config.key_file).read_bytes(), Path(config.cert_file).read_bytes())
        return grpc.ssl_server_certificate_configuration([pair], root_certificates=root)

    def renewed_configuration(self) -> Any | None:
        """The files' new configuration when they changed; None otherwise (gRPC asks on
        every handshake)."""
        try:
            stamps = self._read_stamps()
            if stamps == self._stamps:
                return None
            configuration = self.certificate_configuration()
        except (OSError, ValueError) as error:  # mid-rotation: keep serving the old ones
            logger.warning("certificate files unreadable, keeping the loaded ones: %s", error)
            return None
        self._stamps = stamps
        logger.info("certificate files changed: new handshakes use them")
        return configuration

    def server_credentials(self) -> grpc.ServerCredentials:
        return grpc.dynamic_ssl_server_credentials(
            self.certificate_configuration(),
            self.renewed_configuration,
            require_client_authentication=self.config.mutual,
        )


class GrpcTlsGateway:
    """(A Ray actor.) Serves ``tls.port`` until the actor stops."""

    def __init__(self, spec: dict[str, Any]) -> None:
        gateway = GatewaySpec.model_validate(spec)
        self.config = gateway.tls
        self.upstream = gateway.upstream
        # Only certificates that name a tenant need the gateway to speak for them, and
        # only while authentication is on (``key_file`` is None when it is off).
        speaks_for_clients = bool(self.config.client_tenants) and gateway.key_file is not None
        self._session_key: ApiKey | None = issue_key() if speaks_for_clients else None
        self._key_file = gateway.key_file
        self._started = threading.Event()
        self._failure: BaseException | None = None
        threading.Thread(target=asyncio.run, args=(self._serve(),), daemon=True).start()
        if not self._started.wait(START_TIMEOUT_S):
            raise RuntimeError(f"the gRPC TLS gateway did not start in {START_TIMEOUT_S:.0f} s")
        if self._failure is not None:
            raise RuntimeError(f"the gRPC TLS gateway cannot serve: {self._failure}")
        if self._session_key is not None:
            threading.Thread(target=self._keep_session_key, daemon=True).start()

    def ready(self) -> int:
        """The port it serves (callers await the actor's start with this)."""
        return self.config.port

    def settings(self) -> dict[str, Any]:
        return self.config.model_dump()

    async def _serve(self) -> None:
        try:
            server = grpc.aio.server()
            channel = grpc.aio.insecure_channel(self.upstream)
            shapes = method_shapes(PUBLISHED_SERVICES)
            server.add_generic_rpc_handlers([PassThrough(channel, shapes, self._metadata_for)])
            credentials = CertificateFiles(self.config).server_credentials()
            server.add_secure_port(f"[::]:{self.config.port}", credentials)
            await server.start()
        except Exception as error:  # reported by the constructor
            self._failure = error
            self._started.set()
            return
        logger.info(
            "gRPC TLS gateway on port %d%s, in front of %s",
            self.config.port,
            " (mutual TLS)" if self.config.mutual else "",
            self.upstream,
        )
        self._started.set()
        await server.wait_for_termination()

    def _metadata_for(self, context: grpc.aio.ServicerContext) -> list[tuple[str, str | bytes]]:
        identities = certificate_identities(context.auth_context())
        tenant = certificate_tenant(identities, self.config.client_tenants)
        token = self._session_key.token if self._session_key is not None else None
        return forwarded_metadata(
            tuple(context.invocation_metadata() or ()), tenant=tenant, gateway_token=token
        )

    def _keep_session_key(self) -> None:
        assert self._session_key is not None and self._key_file is not None
        record = KeyRecord(
            key_id=self._session_key.key_id,
            role="tenant",
            tenant=self.config.upstream_tenant,
            name=SESSION_KEY_NAME,
            secret_sha256=secret_digest(self._session_key.secret),
            created_at=datetime.now(UTC),
        )
        failing = False
        while True:
            try:
                ray.get(open_registry(self._key_file).admit_session_key.remote(record))
                failing = False
            except Exception as error:  # the registry restarting: try again next round
                if not failing:
                    logger.warning("key registry unreachable, session key not renewed: %s", error)
                failing = True
            time.sleep(SESSION_KEY_RENEW_S)


def _gateway(spec: GatewaySpec) -> Any:
    """The gateway actor, started on the head node (beside the Serve proxy it hands on to)
    unless it runs."""
    return open_singleton(
        GrpcTlsGateway, GATEWAY_NAME, spec.model_dump(mode="json"), on_head_node=True
    )


def open_gateway(spec: GatewaySpec) -> None:
    """Start the gateway and wait until it serves (`fleet up`); RuntimeError names why it
    cannot."""
    try:
        ray.get(_gateway(spec).ready.remote(), timeout=START_TIMEOUT_S * 2)
    except ray.exceptions.RayActorError as error:
        stop_singleton(GATEWAY_NAME)
        raise RuntimeError(str(error.__cause__ or error)) from None


async def keep_gateway_open(spec: GatewaySpec, interval_s: float = GATEWAY_CHECK_S) -> None:
    """Start the gateway whenever it is not running, for as long as the task runs. The
    router replicas run this, so a cluster deployed from its Serve config alone (KubeRay)
    has its gateway too, and one stopped or lost comes back."""
    failing = False
    while True:
        try:
            await _gateway(spec).ready.remote()
            failing = False
        except Exception as error:  # a bad certificate, a busy port, the head restarting
            if not failing:
                logger.error("the gRPC TLS gateway cannot serve: %s", error)
            failing = True
        await asyncio.sleep(interval_s)


def running_gateway_settings() -> dict[str, Any] | None:
    """The running gateway's ``grpc.tls`` settings; None when none runs."""
    try:
        gateway = ray.get_actor(GATEWAY_NAME, namespace=NAMESPACE)
    except ValueError:
        return None
    return ray.get(gateway.settings.remote())


def close_gateway() -> None:
    stop_singleton(GATEWAY_NAME)
