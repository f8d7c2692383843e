"""The ``kubernetes`` section of a cluster config: how `fleet render kuberay` lays the
cluster out on Kubernetes (KubeRay RayService).

Every field has a default, so a config without a ``kubernetes:`` section renders; the GPU
worker groups themselves are derived from the models (``cluster.render.groups``), and only
their bounds may be overridden here.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

# The Ray LLM image of the pinned Ray release (CUDA 12.8, Python 3.11). It has Ray and
# vLLM but not llm-fleet itself: build an image FROM it that `pip install`s this repo
# (deploy/README.md) and set ``image`` to that.
DEFAULT_IMAGE = "rayproject/ray-llm:2.60.0-py311-cu128"

# NVIDIA GPU Feature Discovery (part of the GPU Operator, on any cloud) labels GPU nodes
# with the product name; GKE's own label is ``cloud.google.com/gke-accelerator``.
DEFAULT_ACCELERATOR_LABEL = "nvidia.com/gpu.product"
DEFAULT_ACCELERATOR_VALUES = {
    "A10G": "NVIDIA-A10G",
    "L4": "NVIDIA-L4",
    "A100": "NVIDIA-A100-SXM4-80GB",
    "H100": "NVIDIA-H100-80GB-HBM3",
}


class StrictModel(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class HeadConfig(StrictModel):
    """The head pod: GCS, dashboard, Serve controller, the router and the embedder."""

    cpu: Annotated[int, Field(ge=1)] = 16
    """CPUs of the head pod (router and embedder replicas run here, never on GPU pods)."""
    memory_gib: Annotated[int, Field(ge=1)] = 64


class WorkerGroupOverride(StrictModel):
    """Bounds for one derived worker group, when the models' own replica counts are not
    what the node pool should allow (e.g. a spare node kept warm)."""

    min_replicas: Annotated[int, Field(ge=0)] | None = None
    max_replicas: Annotated[int, Field(ge=1)] | None = None


class KubernetesConfig(StrictModel):
    """Images and node groups of the KubeRay RayService rendered from this config."""

    namespace: str = "llm-fleet"
    """The namespace the RayService is created in."""
    image: str = DEFAULT_IMAGE
    """The Ray image of every pod; it must contain this project (see DEFAULT_IMAGE)."""
    image_pull_policy: Literal["Always", "IfNotPresent", "Never"] = "IfNotPresent"
    service_type: Literal["ClusterIP", "NodePort", "LoadBalancer"] = "ClusterIP"
    """Type of the Serve service (HTTP 8000 and gRPC 9000) KubeRay puts in front of the
    ready proxies, and of the gRPC TLS gateway's service when ``grpc.tls`` is set."""
    head: HeadConfig = Field(default_factory=HeadConfig)
    memory_gib_per_gpu: Annotated[int, Field(ge=1)] = 48
    """Host memory a GPU worker pod asks per GPU (weights are staged through it)."""
    shm_gib: Annotated[int, Field(ge=1)] = 16
    """Size of /dev/shm in worker pods (NCCL between tensor-parallel shards needs it)."""
    accelerator_label: str = DEFAULT_ACCELERATOR_LABEL
    """The node label a worker group's nodeSelector uses for the model's accelerator_type."""
    accelerator_values: dict[str, str] = Field(
        default_factory=lambda: dict(DEFAULT_ACCELERATOR_VALUES)
    )
    """Label value per Ray accelerator type; a type not listed becomes ``NVIDIA-<type>``."""
    hf_token_secret: str | None = "hf-token"
    """A Secret whose ``token`` key becomes HF_TOKEN in every pod (optional: pods start
    without it); None sets no HF_TOKEN."""
    ray_token_secret: str | None = None
    """A Secret (data key ``auth_token``) with the Ray cluster token; None lets KubeRay make
    one. KubeRay (v1.5.1 or later) runs every pod with Ray's token authentication and uses
    the token itself to deploy the Serve config."""
    keys_secret: str = "llm-fleet-keys"
    """The Secret holding the API key file (its ``keys.json``, digests only, as `fleet keys
    --file` writes it), mounted read-only in the head pod at the folder of
    ``auth.keys_file``; Kubernetes swaps the mounted file when the Secret changes, and the
    cluster takes the new keys without a restart."""
    tls_secret: str = "llm-fleet-tls"
    """The Secret holding the PEM files of ``http.tls`` and ``grpc.tls`` (e.g. cert-manager's
    ``kubernetes.io/tls`` Secret: ``tls.crt``, ``tls.key``, ``ca.crt``), mounted read-only at
    the one folder of those paths: in the head pod, and in worker pods too when their Serve
    proxies serve HTTPS (``http.tls`` with ``proxy_location: EveryNode``). Each file name is
    a key of the Secret."""
    worker_groups: dict[str, WorkerGroupOverride] = Field(default_factory=dict)
    """Overrides per derived worker group name (e.g. ``a100-4gpu``)."""

    def accelerator_value(self, accelerator_type: str) -> str:
        return self.accelerator_values.get(accelerator_type, f"NVIDIA-{accelerator_type}")
