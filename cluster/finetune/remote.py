"""`fleet finetune --on-cluster`: the same training as a Ray task on the running cluster.

The task trains in a scratch folder on whichever node Ray picks (one with a GPU when the
cluster has any) and returns the adapter's files as bytes; the driver writes them to --out.
No node has to share a file system with the driver, so it works on multi-node clusters.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from cluster.finetune.base import BaseModelRef
from cluster.finetune.data import TrainingData
from cluster.finetune.errors import FinetuneError
from cluster.finetune.manifest import AdapterManifest, load_manifest
from cluster.finetune.options import FinetuneOptions


def finetune_on_cluster(
    data: TrainingData,
    base: BaseModelRef,
    out_dir: Path,
    options: FinetuneOptions,
) -> AdapterManifest:
    """Train on the Ray cluster this process is connected to; write the adapter to
    ``out_dir`` here."""
    import ray

    # A fine-tune takes a whole GPU (one model copy, no sharing); on a CPU-only cluster one
    # CPU of bookkeeping, as a model replica asks for.
    resources = {"num_gpus": 1} if ray.cluster_resources().get("GPU", 0) >= 1 else {"num_cpus": 1}
    task = ray.remote(max_retries=0, **resources)(adapter_files)
    try:
        files = ray.get(task.remote(data, base, options))
    except ray.exceptions.RayTaskError as error:
        if isinstance(error.cause, FinetuneError):
            raise error.cause from None
        raise FinetuneError(f"the fine-tune task failed on the cluster: {error.cause!r}") from None
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, content in files.items():
        (out_dir / name).write_bytes(content)
    return load_manifest(out_dir)


def adapter_files(
    data: TrainingData, base: BaseModelRef, options: FinetuneOptions
) -> dict[str, bytes]:
    """Train where this runs, into a scratch folder; every file written there, by name."""
    from cluster.finetune.trainer import quiet_libraries, train_adapter

    quiet_libraries()
    with tempfile.TemporaryDirectory(prefix="fleet-adapter-") as scratch:
        folder = Path(scratch)
        train_adapter(data, base, folder, options)
        return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}
