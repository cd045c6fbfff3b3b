#!/usr/bin/env bash
# Set up everything h2h needs on a fresh Debian machine: the few system packages (installed only
# when missing), the virtual environment .venv and the pinned Python dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

# EGL / Mesa for headless rendering with pyrender; git for DVC.
scripts/debian_packages.sh libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 git

python=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -e ".[test]"
