"""TLS in the rendered KubeRay manifests: the certificate Secret's mounts, the ports, and
the gRPC TLS gateway's own Service."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from cluster.config import ClusterConfig
from cluster.render.kuberay import (
    RenderError,
    render_manifests,
    render_rayservice,
    render_yaml,
)
from services.tls_gateway.config import GrpcTlsConfig, TlsConfig
from tests.unit.deploy.conftest import GPU_CONFIG

TLS = "/etc/llm-fleet/tls"


def with_tls(
    config: ClusterConfig,
    http: TlsConfig | None = None,
    grpc: GrpcTlsConfig | None = None,
    **root: Any,
) -> ClusterConfig:
    return config.model_copy(
        update={
            "http": config.http.model_copy(update={"tls": http}),
            "grpc": config.grpc.model_copy(update={"tls": grpc}),
            **root,
        }
    )


def server_tls(folder: str = TLS) -> TlsConfig:
    return TlsConfig(cert_file=f"{folder}/tls.crt", key_file=f"{folder}/tls.key")


def gateway_tls(**fields: Any) -> GrpcTlsConfig:
    files = {"cert_file": f"{TLS}/tls.crt", "key_file": f"{TLS}/tls.key"}
    return GrpcTlsConfig(**(files | fields))


def pods(manifest: dict[str, Any]) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The head's pod spec and the workers' pod specs."""
    cluster = manifest["spec"]["rayClusterConfig"]
    workers = [group["template"]["spec"] for group in cluster["workerGroupSpecs"]]
    return cluster["headGroupSpec"]["template"]["spec"], workers


def tls_volume(pod: dict[str, Any]) -> dict[str, Any] | None:
    return next((v for v in pod["volumes"] if v["name"] == "tls"), None)


def tls_mount(pod: dict[str, Any]) -> dict[str, Any] | None:
    mounts = pod["containers"][0]["volumeMounts"]
    return next((m for m in mounts if m["name"] == "tls"), None)


def projected(pod: dict[str, Any]) -> list[str]:
    volume = tls_volume(pod)
    assert volume is not None
    return [item["key"] for item in volume["secret"]["items"]]


def service_ports(manifest: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {p["name"]: p for p in manifest["spec"]["serveService"]["spec"]["ports"]}


@pytest.fixture(scope="module")
def plain(gpu_config: ClusterConfig) -> ClusterConfig:
    return with_tls(gpu_config)


def test_without_tls_nothing_is_mounted_and_serve_svc_has_http_and_grpc(
    plain: ClusterConfig,
) -> None:
    manifest = render_rayservice(plain)
    head, workers = pods(manifest)
    assert all(tls_volume(pod) is None for pod in [head, *workers])
    assert list(service_ports(manifest)) == ["serve", "grpc"]
    assert "excludeHeadPodFromServeSvc" not in manifest["spec"]
    assert render_manifests(plain) == [manifest]
    assert "\n---\n" not in render_yaml(plain)


def test_http_tls_mounts_the_secret_on_head_and_every_worker(plain: ClusterConfig) -> None:
    manifest = render_rayservice(with_tls(plain, http=server_tls()))
    head, workers = pods(manifest)
    for pod in [head, *workers]:
        assert tls_mount(pod) == {"name": "tls", "mountPath": TLS, "readOnly": True}
        volume = tls_volume(pod)
        assert volume is not None
        assert volume["secret"] == {
            "secretName": "llm-fleet-tls",
            "items": [
                {"key": "tls.crt", "path": "tls.crt"},
                {"key": "tls.key", "path": "tls.key"},
            ],
        }


def test_http_tls_names_the_port_https_and_probes_workers_over_https(
    plain: ClusterConfig,
) -> None:
    manifest = render_rayservice(with_tls(plain, http=server_tls()))
    https = service_ports(manifest)["https"]
    assert (https["port"], https["appProtocol"]) == (8000, "https")
    # KubeRay checks proxies over plain HTTP: the head is left out, workers get our probe.
    assert manifest["spec"]["excludeHeadPodFromServeSvc"] is True
    head, workers = pods(manifest)
    assert "readinessProbe" not in head["containers"][0]
    for worker in workers:
        command = worker["containers"][0]["readinessProbe"]["exec"]["command"]
        assert "https://localhost:8000/-/healthz" in command[-1]
    # KubeRay finds Serve's port by its container port name.
    assert {"name": "serve", "containerPort": 8000} in head["containers"][0]["ports"]


def test_grpc_tls_mounts_on_the_head_only(plain: ClusterConfig) -> None:
    config = with_tls(plain, grpc=gateway_tls(client_ca_file=f"{TLS}/ca.crt"))
    head, workers = pods(render_rayservice(config))
    assert projected(head) == ["tls.crt", "tls.key", "ca.crt"]
    assert all(tls_volume(pod) is None and tls_mount(pod) is None for pod in workers)


def test_workers_get_only_the_http_files(plain: ClusterConfig) -> None:
    config = with_tls(
        plain,
        http=TlsConfig(cert_file=f"{TLS}/web.crt", key_file=f"{TLS}/web.key"),
        grpc=gateway_tls(client_ca_file=f"{TLS}/ca.crt"),
    )
    head, workers = pods(render_rayservice(config))
    assert projected(head) == ["web.crt", "web.key", "tls.crt", "tls.key", "ca.crt"]
    assert all(projected(pod) == ["web.crt", "web.key"] for pod in workers)


def test_http_tls_with_head_only_proxies_is_refused(plain: ClusterConfig) -> None:
    config = with_tls(plain, http=server_tls(), proxy_location="HeadOnly")
    with pytest.raises(RenderError, match="http.tls: with proxy_location HeadOnly"):
        render_rayservice(config)


def test_grpc_tls_opens_the_gateway_port_and_hides_plaintext_grpc(plain: ClusterConfig) -> None:
    manifest = render_rayservice(with_tls(plain, grpc=gateway_tls(port=9555)))
    head, _ = pods(manifest)
    ports = {p["name"]: p["containerPort"] for p in head["containers"][0]["ports"]}
    assert (ports["grpc-tls"], ports["grpc"]) == (9555, 9000)
    assert list(service_ports(manifest)) == ["serve"]


def test_grpc_tls_renders_a_service_for_the_head_pod(plain: ClusterConfig) -> None:
    kube = plain.kubernetes.model_copy(update={"service_type": "LoadBalancer"})
    config = with_tls(plain, grpc=gateway_tls(), kubernetes=kube)
    rayservice, service = render_manifests(config)
    assert (service["apiVersion"], service["kind"]) == ("v1", "Service")
    assert service["metadata"]["name"] == "llm-fleet-gpu-grpc-tls-svc"
    assert service["metadata"]["namespace"] == rayservice["metadata"]["namespace"]
    spec = service["spec"]
    assert spec["type"] == "LoadBalancer"
    assert spec["ports"] == [
        {"name": "grpc-tls", "port": 9443, "targetPort": 9443, "appProtocol": "grpc"}
    ]
    # The selector must match the head pod whatever hash KubeRay gives the RayCluster: a
    # label of the head's own template, and KubeRay's node type (workers are "worker").
    head_labels = rayservice["spec"]["rayClusterConfig"]["headGroupSpec"]["template"]["metadata"][
        "labels"
    ]
    assert spec["selector"] == {**head_labels, "ray.io/node-type": "head"}
    assert "ray.io/cluster" not in spec["selector"]


def test_render_yaml_writes_both_documents(plain: ClusterConfig) -> None:
    text = render_yaml(with_tls(plain, grpc=gateway_tls()), GPU_CONFIG)
    assert text.startswith("# generated by `fleet render kuberay")
    kinds = [document["kind"] for document in yaml.safe_load_all(text)]
    assert kinds == ["RayService", "Service"]


@pytest.mark.parametrize(
    ("http", "grpc", "message"),
    [
        (
            TlsConfig(cert_file="certs/tls.crt", key_file=f"{TLS}/tls.key"),
            None,
            "http.tls.cert_file: 'certs/tls.crt' is relative",
        ),
        (
            None,
            gateway_tls(client_ca_file="ca.crt"),
            "grpc.tls.client_ca_file: 'ca.crt' is relative",
        ),
        (
            TlsConfig(cert_file=f"{TLS}/tls.crt", key_file="/etc/keys/tls.key"),
            None,
            "http.tls.key_file: '/etc/keys/tls.key' is not in /etc/llm-fleet/tls",
        ),
        (
            server_tls(),
            gateway_tls(client_ca_file="/etc/ca/ca.crt"),
            "grpc.tls.client_ca_file: '/etc/ca/ca.crt' is not in /etc/llm-fleet/tls",
        ),
        (
            server_tls("/etc/llm-fleet/keys"),
            None,
            "folder of auth.keys_file",
        ),
    ],
)
def test_files_outside_one_absolute_folder_are_refused(
    plain: ClusterConfig, http: TlsConfig | None, grpc: GrpcTlsConfig | None, message: str
) -> None:
    with pytest.raises(RenderError, match=message):
        render_rayservice(with_tls(plain, http=http, grpc=grpc))


def test_gpu_config_renders_https_and_the_mutual_tls_gateway(gpu_config: ClusterConfig) -> None:
    rayservice, service = render_manifests(gpu_config)
    head, workers = pods(rayservice)
    assert projected(head) == ["tls.crt", "tls.key", "ca.crt"]
    assert all(projected(pod) == ["tls.crt", "tls.key"] for pod in workers)
    assert list(service_ports(rayservice)) == ["https"]
    assert service["spec"]["ports"][0]["port"] == 9443
