#!/usr/bin/env python3
"""Voice a text dataset for `switchboard eval`: each chosen line is spoken by espeak-ng and passed through a
phone line (8 kHz, G.711 mu-law WAV, via sox), as a provider would stream it.

    python3 scripts/speak-dataset.py DATASET.jsonl OUT_DIR [--every N] [--limit N] [--voice en-us]

Writes OUT_DIR/audio/<id>.wav, OUT_DIR/spoken.jsonl (the lines with "audio") and OUT_DIR/text.jsonl (the same
lines with their text), so that text and audio scores compare on exactly the same lines. Deterministic: the
same input gives the same lines (every Nth, from the first). Needs espeak-ng and sox (scripts/install.sh).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("dataset")
    ap.add_argument("out")
    ap.add_argument("--every", type=int, default=5, help="keep every Nth line (default 5)")
    ap.add_argument("--limit", type=int, default=0, help="at most this many lines (0: no limit)")
    ap.add_argument("--voice", default="en-us")
    args = ap.parse_args()
    for tool in ("espeak-ng", "sox"):
        if shutil.which(tool) is None:
            sys.exit(f"speak-dataset: {tool} is needed (Debian: apt-get install {tool}; or bash scripts/install.sh)")
    audio_dir = os.path.join(args.out, "audio")
    os.makedirs(audio_dir, exist_ok=True)
    chosen = []
    with open(args.dataset, encoding="utf-8") as f:
        for n, raw in enumerate(f):
            if not raw.strip() or n % args.every:
                continue
            line = json.loads(raw)
            if "text" not in line:
                sys.exit(f"speak-dataset: {args.dataset}:{n + 1} has no text")
            chosen.append(line)
            if args.limit and len(chosen) >= args.limit:
                break
    with tempfile.TemporaryDirectory() as tmp, \
            open(os.path.join(args.out, "spoken.jsonl"), "w", encoding="utf-8") as spoken, \
            open(os.path.join(args.out, "text.jsonl"), "w", encoding="utf-8") as text:
        for i, line in enumerate(chosen):
            name = "".join(c if c.isalnum() or c in "-_" else "_" for c in line["id"]) + ".wav"
            raw_wav = os.path.join(tmp, "raw.wav")
            subprocess.run(["espeak-ng", "-v", args.voice, "-s", "160", "-w", raw_wav, line["text"]], check=True)
            # Half a second of line noise floor before, a second after: a caller pauses when done.
            subprocess.run(["sox", raw_wav, "-r", "8000", "-c", "1", "-e", "mu-law", "-b", "8",
                            os.path.join(audio_dir, name), "pad", "0.5", "1.0"], check=True)
            spoken.write(json.dumps({"id": line["id"], "audio": f"audio/{name}", "expect": line["expect"]}) + "\n")
            text.write(json.dumps({"id": line["id"], "text": line["text"], "expect": line["expect"]}) + "\n")
            print(f"\r{i + 1}/{len(chosen)} lines voiced", end="", file=sys.stderr)
    print(f"\nwrote {len(chosen)} lines to {args.out}/spoken.jsonl and {args.out}/text.jsonl", file=sys.stderr)


if __name__ == "__main__":
    main()
