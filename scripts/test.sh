#!/usr/bin/env bash
# Everything CI checks, on a fresh machine: install, fetch models, the PyPI test peers, format, lint, test.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh
bash scripts/peers.sh
bash scripts/postgres.sh >/dev/null
bash scripts/browser.sh
cargo fmt --all -- --check
cargo clippy --release --all-targets --locked -- -D warnings
cargo test --release --locked
