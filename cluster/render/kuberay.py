"""A cluster config as a KubeRay ``RayService`` (ray.io/v1).

``spec.serveConfigV2`` is `fleet up`'s own Serve config (``serve_deploy_config``), so the
two can never drift; the worker groups come from ``cluster.render.groups``.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath
from typing import Any

import yaml

from cluster.config.schema import ClusterConfig
from cluster.render.groups import NodeGroup, node_groups
from cluster.serve_config import serve_deploy_config
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
        {"name": name, "value": value} for name, value in sorted(telemetry.items())
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


KEYS_VOLUME = "api-keys"


class RenderError(ValueError):
    """The config cannot run on Kubernetes as it stands."""


def _mount_keys(config: ClusterConfig, container: dict[str, Any], volumes: list) -> None:
    """The key Secret, read-only at the folder of ``auth.keys_file`` (the head pod runs the
    registry that reads it)."""
    keys_file = config.auth.keys_file
    if not config.auth.enabled:
        return
    if keys_file is None or not PurePosixPath(keys_file).is_absolute():
        raise RenderError(
            "auth.keys_file: set an absolute path in the head pod, where the Secret "
            f"'{config.kubernetes.keys_secret}' is mounted (e.g. /etc/llm-fleet/keys/keys.json)"
        )
    path = PurePosixPath(keys_file)
    container["volumeMounts"].append(
        {"name": KEYS_VOLUME, "mountPath": str(path.parent), "readOnly": True}
    )
    volumes.append(
        {
            "name": KEYS_VOLUME,
            "secret": {
                "secretName": config.kubernetes.keys_secret,
                "items": [{"key": path.name, "path": path.name}],
            },
        }
    )


def head_group(config: ClusterConfig) -> dict[str, Any]:
    """The head: no GPUs, so no model replica is ever placed there."""
    head = config.kubernetes.head
    ports = [
        {"name": "gcs-server", "containerPort": GCS_PORT},
        {"name": "dashboard", "containerPort": DASHBOARD_PORT},
        {"name": "client", "containerPort": CLIENT_PORT},
        {"name": "serve", "containerPort": config.http.port},
        {"name": "grpc", "containerPort": config.grpc.port},
        _metrics_port(config),
    ]
    resources = {"cpu": str(head.cpu), "memory": f"{head.memory_gib}Gi"}
    container = _container(config, "ray-head", resources, ports)
    volumes = [_shm_volume(2)]
    _mount_keys(config, container, volumes)
    return {
        "rayStartParams": {
            "dashboard-host": "0.0.0.0",
            "num-gpus": "0",
            "metrics-export-port": str(config.telemetry.metrics.port),
        },
        "template": {
            "spec": {
                "containers": [container],
                "volumes": volumes,
            }
        },
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
    pod: dict[str, Any] = {
        "containers": [_container(config, "ray-worker", resources, [_metrics_port(config)])],
        "volumes": [_shm_volume(kube.shm_gib)],
    }
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
    only); KubeRay fills in the selector (pods whose proxy is ready)."""
    return {
        "metadata": {"name": f"{config.name}-serve-svc"},
        "spec": {
            "type": config.kubernetes.service_type,
            "ports": [
                {"name": "serve", "port": config.http.port, "targetPort": config.http.port},
                {
                    "name": "grpc",
                    "port": config.grpc.port,
                    "targetPort": config.grpc.port,
                    "appProtocol": "grpc",
                },
            ],
        },
    }


def auth_options(config: ClusterConfig) -> dict[str, str]:
    options = {"mode": "token"}
    if config.kubernetes.ray_token_secret is not None:
        options["secretName"] = config.kubernetes.ray_token_secret
    return options


def render_rayservice(config: ClusterConfig) -> dict[str, Any]:
    serve_config = yaml.safe_dump(serve_deploy_config(config), sort_keys=False, width=100)
    return {
        "apiVersion": "ray.io/v1",
        "kind": "RayService",
        "metadata": {"name": config.name, "namespace": config.kubernetes.namespace},
        "spec": {
            "serveConfigV2": serve_config,
            "serveService": serve_service(config),
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


def render_yaml(config: ClusterConfig, config_path: str = "<file>") -> str:
    """The RayService as YAML, behind a header naming the command that regenerates it."""
    body = yaml.dump(render_rayservice(config), Dumper=_ManifestDumper, sort_keys=False, width=100)
    return header(config_path, "kuberay") + body
