#!/usr/bin/env bash
# The main job on the embedded defaults: install what is needed, fetch the models, then replay three sample
# calls (voiced by espeak-ng, sent through 8 kHz mu-law like a phone line) against examples/agent.toml,
# filing tickets in demo/switchboard.db, rehearse a live callback dialog, and list the tickets.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
bash scripts/install.sh

sb=./target/release/switchboard
mkdir -p demo
rm -f demo/switchboard.db demo/switchboard.db-*

call() { # name, then what the caller says
  local name=$1; shift
  espeak-ng -v en-us -s 150 -w "demo/$name-voice.wav" "$*"
  sox -q "demo/$name-voice.wav" -r 8000 -e mu-law "demo/$name.wav" pad 0.5 1.0
}
call cancel "Hello, I have been a customer for six years. I would like to cancel my contract, please."
call complaint "I want to make a formal complaint. Your engineer never showed up."
call hours "Hi, what time are you open on Saturday?"

"$sb" check-config examples/agent.toml
for c in cancel complaint hours; do
  "$sb" replay --config examples/agent.toml --db demo/switchboard.db --caller +15550142000 "demo/$c.wav"
  echo
done
# A live call in simulated time: the complaint is flagged and the agent asks, understands and confirms the
# callback fields (the caller answers by voice, then types a number on the keypad).
"$sb" rehearse --config examples/agent.toml --db demo/switchboard.db \
  "say:I want to make a formal complaint about your service." \
  "say:My internet connection keeps dropping." "say:Tomorrow after three p.m." "say:Yes." \
  "keys:4158673921#" "keys:1"
echo
"$sb" tickets --db demo/switchboard.db list
echo
"$sb" report --db demo/switchboard.db --plot demo/report.png
