#!/usr/bin/env bash
# Set up everything h2h needs on a fresh Debian machine: the few system packages (installed only
# when missing), the virtual environment .venv and the pinned Python dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."

# EGL / Mesa for headless rendering with pyrender; git for DVC.
packages=(libegl1 libegl-mesa0 libgl1-mesa-dri libgbm1 git)
missing=()
for package in "${packages[@]}"; do
  dpkg -s "$package" >/dev/null 2>&1 || missing+=("$package")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -eq 0 ] || sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

python=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$python" -m venv .venv
.venv/bin/python -m pip install -q --upgrade "pip>=24"
.venv/bin/python -m pip install -q -e ".[test]"
