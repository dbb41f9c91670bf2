#!/usr/bin/env bash
# Independent implementations the tests check us against, from PyPI, in target/peers (a virtualenv):
# pipecat-ai's provider serializers, twilio's RequestValidator, websockets for ../shared/peers/twilio_peer.py,
# and aiosmtpd, a real SMTP server that notifications are delivered to.
# Idempotent: re-running only installs what is missing.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=target/peers
wanted=(pipecat-ai==1.14.0 twilio==9.13.0 websockets==17.4 aiosmtpd==1.4.6)
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -m pip freeze 2>/dev/null | grep -qx "pipecat-ai==1.14.0" \
   && "$venv/bin/python" -m pip freeze | grep -qx "twilio==9.13.0" && "$venv/bin/python" -m pip freeze | grep -qx "websockets==17.4" \
   && "$venv/bin/python" -m pip freeze | grep -qx "aiosmtpd==1.4.6"; then
  exit 0
fi
mkdir -p target
python3 -m venv "$venv"
"$venv/bin/python" -m pip install -q --disable-pip-version-check "${wanted[@]}"
