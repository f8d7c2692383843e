"""A cluster config as a KubeRay ``RayService`` (ray.io/v1), plus a ``Service`` for the
gRPC TLS gateway when ``grpc.tls`` is set.

``spec.serveConfigV2`` is `fleet up`'s own Serve config (``serve_deploy_config``), so the
two can never drift; the worker groups come from ``cluster.render.groups``.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

from cluster.config.schema import ClusterConfig
from cluster.render.groups import NodeGroup, node_groups
from cluster.render.secrets import (
    RenderError,
    mount_keys,
    mount_tls,
    workers_serve_https,
)
from cluster.serve_config import SERVE_PROCESS_ENV, serve_deploy_config
from services.telemetry.config import telemetry_env

RAY_VERSION = "2.60.0"
GCS_PORT = 6379
DASHBOARD_PORT = 8265
CLIENT_PORT = 10001
GPU_RESOURCE = "nvidia.com/gpu"


def ray_resources_param(resources: dict[str, int]) -> str:
    """The ``resources`` rayStartParam: KubeRay pastes it into the ``ray start`` shell
    command, and the autoscaler parses it back the same way (quotes and escapes kept)."""
    return '"' + json.dumps(resources, sort_keys=True).replace('"', '\\"') + '"'


def _env(config: ClusterConfig) -> list[dict[str, Any]]:
    # The telemetry settings also travel in serveConfigV2's controller_options; in the
    # pods' environment they reach every process even where an operator applies the
    # Serve config some other way.
    telemetry = telemetry_env(config.telemetry, cluster=config.name)
    env: list[dict[str, Any]] = [
        {"name": name, "value": value}
        for name, value in sorted({**telemetry, **SERVE_PROCESS_ENV}.items())
    ]
    secret = config.kubernetes.hf_token_secret
    if secret is not None:
        env.append(
            {
                "name": "HF_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": secret, "key": "token", "optional": True}},
            }
        )
    return env


def _metrics_port(config: ClusterConfig) -> dict[str, Any]:
    return {"name": "metrics", "containerPort": config.telemetry.metrics.port}


def _container(
    config: ClusterConfig, name: str, resources: dict[str, Any], ports: list[dict[str, Any]]
) -> dict[str, Any]:
    container: dict[str, Any] = {
        "name": name,
        "image": config.kubernetes.image,
        "imagePullPolicy": config.kubernetes.image_pull_policy,
        "resources": {"limits": resources, "requests": dict(resources)},
        "env": _env(config),
        "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
    }
    if ports:
        container["ports"] = ports
    return container


def _shm_volume(size_gib: int) -> dict[str, Any]:
    return {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": f"{size_gib}Gi"}}


# The gRPC TLS gateway's Service selects the head pod by these labels. KubeRay names the
# RayCluster of a RayService `<name>-<hash>` (a new one per cluster upgrade), so its own
# `ray.io/cluster` label cannot be written down here; it keeps a pod template's own labels,
# so the head template carries `llm-fleet/cluster`, and `ray.io/node-type` (set by KubeRay,
# not overridable) keeps worker pods out.
CLUSTER_LABEL = "llm-fleet/cluster"


def head_selector(config: ClusterConfig) -> dict[str, str]:
    return {CLUSTER_LABEL: config.name, "ray.io/node-type": "head"}


def head_group(config: ClusterConfig) -> dict[str, Any]:
    """The head: no GPUs, so no model replica is ever placed there."""
    head = config.kubernetes.head
    ports = [
        {"name": "gcs-server", "containerPort": GCS_PORT},
        {"name": "dashboard", "containerPort": DASHBOARD_PORT},
        {"name": "client", "containerPort": CLIENT_PORT},
        # Named "serve" even for HTTPS: KubeRay finds Serve's port by that name.
        {"name": "serve", "containerPort": config.http.port},
        {"name": "grpc", "containerPort": config.grpc.port},
        _metrics_port(config),
    ]
    if config.grpc.tls is not None:
        ports.insert(-1, {"name": "grpc-tls", "containerPort": config.grpc.tls.port})
    resources = {"cpu": str(head.cpu), "memory": f"{head.memory_gib}Gi"}
    container = _container(config, "ray-head", resources, ports)
    volumes = [_shm_volume(2)]
    mount_keys(config, container, volumes)
    mount_tls(config, container, volumes)
    template: dict[str, Any] = {"spec": {"containers": [container], "volumes": volumes}}
    if config.grpc.tls is not None:
        template = {"metadata": {"labels": {CLUSTER_LABEL: config.name}}, **template}
    return {
        "rayStartParams": {
            "dashboard-host": "0.0.0.0",
            "num-gpus": "0",
            "metrics-export-port": str(config.telemetry.metrics.port),
        },
        "template": template,
    }


def https_readiness_probe(config: ClusterConfig) -> dict[str, Any]:
    """A worker pod is ready when its proxy answers over HTTPS. KubeRay's own probe (which it
    adds only when the container has none) asks over plain HTTP and would never pass; the
    certificate is not checked, it names the service, not localhost. KubeRay still adds its
    liveness probe (raylet health)."""
    url = f"https://localhost:{config.http.port}/-/healthz"
    check = f"wget -T 2 -q -O- --no-check-certificate {url} | grep success"
    return {
        "exec": {"command": ["bash", "-c", check]},
        "initialDelaySeconds": 10,
        "timeoutSeconds": 2,
        "periodSeconds": 5,
        "successThreshold": 1,
        "failureThreshold": 1,
    }


def worker_group(group: NodeGroup, config: ClusterConfig) -> dict[str, Any]:
    """One pod per replica: it offers all the replica's GPUs on one node."""
    kube = config.kubernetes
    memory_gib = kube.memory_gib_per_gpu * group.gpus if group.gpus else 4 * group.cpus
    resources: dict[str, Any] = {"cpu": str(group.cpus), "memory": f"{memory_gib}Gi"}
    params = {
        "num-cpus": str(group.cpus),
        "num-gpus": str(group.gpus),
        "metrics-export-port": str(config.telemetry.metrics.port),
    }
    if group.custom:
        params["resources"] = ray_resources_param(group.custom)
    container = _container(config, "ray-worker", resources, [_metrics_port(config)])
    pod: dict[str, Any] = {"containers": [container], "volumes": [_shm_volume(kube.shm_gib)]}
    if workers_serve_https(config):
        mount_tls(config, container, pod["volumes"], grpc=False)
        container["readinessProbe"] = https_readiness_probe(config)
    if group.gpus:
        resources[GPU_RESOURCE] = str(group.gpus)
        pod["tolerations"] = [{"key": GPU_RESOURCE, "operator": "Exists", "effect": "NoSchedule"}]
    if group.accelerator_type:
        pod["nodeSelector"] = {
            kube.accelerator_label: kube.accelerator_value(group.accelerator_type)
        }
    return {
        "groupName": group.name,
        "replicas": group.min_replicas,
        "minReplicas": group.min_replicas,
        "maxReplicas": group.max_replicas,
        "rayStartParams": params,
        "template": {
            "metadata": {"annotations": {"llm-fleet/models": ", ".join(group.models)}},
            "spec": pod,
        },
    }


def serve_service(config: ClusterConfig) -> dict[str, Any]:
    """KubeRay's Serve service, with the gRPC port next to HTTP (its default has HTTP
    only); KubeRay fills in the selector (pods whose proxy is ready).

    With ``grpc.tls`` the plaintext gRPC port is left out: this service may be a load
    balancer, and gRPC callers from outside go through the gateway's own service
    (``grpc_tls_service``)."""
    http = config.http
    ports: list[dict[str, Any]] = [
        {"name": "serve", "port": http.port, "targetPort": http.port}
        if http.tls is None
        # "https" is an IANA service name, as un-prefixed appProtocol values must be.
        else {"name": "https", "port": http.port, "targetPort": http.port, "appProtocol": "https"}
    ]
    if config.grpc.tls is None:
        ports.append(
            {
                "name": "grpc",
                "port": config.grpc.port,
                "targetPort": config.grpc.port,
                "appProtocol": "grpc",
            }
        )
    return {
        "metadata": {"name": f"{config.name}-serve-svc"},
        "spec": {"type": config.kubernetes.service_type, "ports": ports},
    }


def grpc_tls_service(config: ClusterConfig) -> dict[str, Any] | None:
    """The gRPC TLS gateway's Service: the gateway runs on the head only, so it selects the
    head pod (``head_selector``), not every pod with a proxy as the serve service does."""
    tls = config.grpc.tls
    if tls is None:
        return None
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {
            "name": f"{config.name}-grpc-tls-svc",
            "namespace": config.kubernetes.namespace,
            "labels": {CLUSTER_LABEL: config.name},
        },
        "spec": {
            "type": config.kubernetes.service_type,
            "selector": head_selector(config),
            "ports": [
                {
                    "name": "grpc-tls",
                    "port": tls.port,
                    "targetPort": tls.port,
                    "appProtocol": "grpc",
                }
            ],
        },
    }


def auth_options(config: ClusterConfig) -> dict[str, str]:
    options = {"mode": "token"}
    if config.kubernetes.ray_token_secret is not None:
        options["secretName"] = config.kubernetes.ray_token_secret
    return options


def _head_proxy_options(config: ClusterConfig) -> dict[str, Any]:
    """KubeRay checks the head's proxy over plain HTTP (its worker probe is replaced, see
    ``https_readiness_probe``), so with HTTPS the head would never count as ready: say so
    rather than have the check fail on every reconcile. The workers' proxies serve."""
    if config.http.tls is None:
        return {}
    if not workers_serve_https(config):
        raise RenderError(
            "http.tls: with proxy_location HeadOnly no pod would join the serve service "
            "(KubeRay checks the head's proxy over plain HTTP); use EveryNode"
        )
    return {"excludeHeadPodFromServeSvc": True}


def render_rayservice(config: ClusterConfig) -> dict[str, Any]:
    serve_config = yaml.safe_dump(serve_deploy_config(config), sort_keys=False, width=100)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": config.name, "namespace": config.kubernetes.namespace},
        "spec": {
            "serveConfigV2": serve_config,
            "serveService": serve_service(config),
            **_head_proxy_options(config),
            "rayClusterConfig": {
                "rayVersion": RAY_VERSION,
                # Only holders of the Ray cluster token (operators; KubeRay itself) reach the
                # GCS and the dashboard's Serve API: tenants' API keys open nothing there.
                "authOptions": auth_options(config),
                "enableInTreeAutoscaling": True,
                "headGroupSpec": head_group(config),
                "workerGroupSpecs": [worker_group(g, config) for g in node_groups(config)],
            },
        },
    }


def header(config_path: str, command: str) -> str:
    return f"# generated by `fleet render {command} --config {config_path}`; do not edit\n"


class _ManifestDumper(yaml.SafeDumper):
    """Multi-line strings (the embedded Serve config) as ``|`` blocks operators can read."""


def _represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_ManifestDumper.add_representer(str, _represent_str)


def render_manifests(config: ClusterConfig) -> list[dict[str, Any]]:
    """The RayService, and the gRPC TLS gateway's Service when ``grpc.tls`` is set."""
    documents = [render_rayservice(config)]
    service = grpc_tls_service(config)
    if service is not None:
        documents.append(service)
    return documents


def render_yaml(config: ClusterConfig, config_path: str = "<file>") -> str:
    """The manifests as YAML documents (``---`` between them), behind a header naming the
    command that regenerates them."""
    body = yaml.dump_all(
        render_manifests(config), Dumper=_ManifestDumper, sort_keys=False, width=100
    )
    return header(config_path, "kuberay") + body
