#!/usr/bin/env bash
# Installs what switchboard needs on a fresh Debian/Ubuntu machine, builds it and fetches the models.
# Idempotent: re-running only does what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

# System packages: cmake builds whisper.cpp; espeak-ng voices the sample and test calls; python3 with venv
# runs the model converters; a DejaVu font labels `switchboard eval --plot` pictures.
missing=()
command -v cmake >/dev/null || missing+=(cmake)
command -v espeak-ng >/dev/null || missing+=(espeak-ng)
command -v sox >/dev/null || missing+=(sox)
command -v g++ >/dev/null || missing+=(g++)
command -v python3 >/dev/null || missing+=(python3)
python3 -m venv --help >/dev/null 2>&1 || missing+=(python3-venv)
python3 -m pip --version >/dev/null 2>&1 || missing+=(python3-pip)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || missing+=(fonts-dejavu-core)
if [ ${#missing[@]} -gt 0 ]; then
  echo "installing system packages: ${missing[*]}"
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null; then
  echo "cargo is missing: install Rust from https://rustup.rs (or your distribution) first" >&2
  exit 1
fi

cargo build --release --locked
./target/release/switchboard models fetch
