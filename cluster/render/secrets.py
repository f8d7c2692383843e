"""The Secrets a rendered RayService mounts: the API-key file in the head pod, the TLS
certificates where proxies or the gRPC gateway read them; and why a config cannot be
mounted so (``RenderError``)."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from cluster.config.schema import ClusterConfig

KEYS_VOLUME = "api-keys"


class RenderError(ValueError):
    """The config cannot run on Kubernetes as it stands."""


def _mount_secret(
    container: dict[str, Any],
    volumes: list,
    volume: str,
    secret: str,
    folder: PurePosixPath,
    file_names: list[str],
) -> None:
    """Secret ``secret``, read-only at ``folder``, projecting only ``file_names``."""
    container["volumeMounts"].append({"name": volume, "mountPath": str(folder), "readOnly": True})
    volumes.append(
        {
            "name": volume,
            "secret": {
                "secretName": secret,
                "items": [{"key": name, "path": name} for name in file_names],
            },
        }
    )


def mount_keys(config: ClusterConfig, container: dict[str, Any], volumes: list) -> None:
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
    _mount_secret(
        container, volumes, KEYS_VOLUME, config.kubernetes.keys_secret, path.parent, [path.name]
    )


TLS_VOLUME = "tls"


def _tls_paths(config: ClusterConfig, *, grpc: bool = True) -> list[tuple[str, str]]:
    """(field, path) of every certificate file the config names: ``http.tls`` ones, and
    ``grpc.tls`` ones unless ``grpc`` is False (worker pods run no gRPC gateway)."""
    sections = [("http.tls", config.http.tls)]
    if grpc:
        sections.append(("grpc.tls", config.grpc.tls))
    return [
        (f"{where}.{name}", path)
        for where, tls in sections
        if tls is not None
        for name in tls.PATH_FIELDS
        if (path := getattr(tls, name)) is not None
    ]


def tls_folder(config: ClusterConfig) -> PurePosixPath | None:
    """The one folder all certificate files are in (where the Secret is mounted); None when
    the config has no TLS. RenderError names the first path that cannot be mounted so."""
    paths = _tls_paths(config)
    if not paths:
        return None
    secret = config.kubernetes.tls_secret
    first_field, first_path = paths[0]
    folder = PurePosixPath(first_path).parent
    for field, path in paths:
        if not PurePosixPath(path).is_absolute():
            raise RenderError(
                f"{field}: '{path}' is relative; set an absolute path in the pods, where the "
                f"Secret '{secret}' is mounted (e.g. /etc/llm-fleet/tls/tls.crt)"
            )
        if PurePosixPath(path).parent != folder:
            raise RenderError(
                f"{field}: '{path}' is not in {folder} (the folder of {first_field}): the "
                f"Secret '{secret}' is mounted at one folder, so all TLS files must be there"
            )
    _refuse_shared_folder(config, folder)
    return folder


def _refuse_shared_folder(config: ClusterConfig, folder: PurePosixPath) -> None:
    # Two Secret volumes cannot be mounted at one path: the pod would be refused.
    keys_file = config.auth.keys_file
    if config.auth.enabled and keys_file and PurePosixPath(keys_file).parent == folder:
        raise RenderError(
            f"http.tls/grpc.tls: {folder} is also the folder of auth.keys_file, where the "
            f"Secret '{config.kubernetes.keys_secret}' is mounted; use another folder"
        )


def mount_tls(
    config: ClusterConfig, container: dict[str, Any], volumes: list, *, grpc: bool = True
) -> None:
    """The TLS Secret, read-only at the folder of the certificate files (see ``tls_folder``);
    only the files this pod uses are projected from it."""
    folder = tls_folder(config)
    if folder is None:
        return
    # http.tls and grpc.tls may name the same files: each is projected once.
    names = list(
        dict.fromkeys(PurePosixPath(path).name for _, path in _tls_paths(config, grpc=grpc))
    )
    _mount_secret(container, volumes, TLS_VOLUME, config.kubernetes.tls_secret, folder, names)


def workers_serve_https(config: ClusterConfig) -> bool:
    """Whether worker pods run HTTPS proxies (they need the certificate then)."""
    return config.http.tls is not None and config.proxy_location == "EveryNode"
