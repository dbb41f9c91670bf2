#!/usr/bin/env bash
# The main job on the embedded defaults: install, then replay sample calls (voiced by espeak-ng and sent
# through 8 kHz mu-law like a phone line) against examples/agent.toml, filing tickets in demo/switchboard.db.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh

sb=./target/release/switchboard
mkdir -p demo
rm -f demo/switchboard.db*
make_call() { # name text
  espeak-ng -v en-us -s 150 -w "demo/$1-22k.wav" "$2"
  "$sb" --quiet-convert 2>/dev/null || true
  python3 - "demo/$1-22k.wav" "demo/$1.wav" <<'PY'
import sys, wave, audioop
src, dst = sys.argv[1], sys.argv[2]
with wave.open(src) as w:
    rate, width, frames = w.getframerate(), w.getsampwidth(), w.readframes(w.getnframes())
pcm, _ = audioop.ratecv(frames, width, 1, rate, 8000, None)
PY
}
