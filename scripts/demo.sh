#!/usr/bin/env bash
# The demo (`make demo`): r1 chats with r1-tiny, the small reasoning model bundled in models/ (trained by
# tools/train_tiny.py to add and subtract numbers of up to four digits). Like the DeepSeek-R1 distills it thinks
# first, inside <think>...</think>; r1 streams the thought (to stderr, dimmed on a terminal) apart from the answer
# (to stdout). The last question runs with a thinking budget of 0 to show what the thought is worth.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${1:-build}
r1="$build/r1"
model=models/r1-tiny.gguf
if [ ! -x "$r1" ]; then
  echo "demo: $r1 not found (run 'make build' first)" >&2
  exit 1
fi
if [ ! -f "$model" ]; then
  echo "demo: $model not found" >&2
  exit 1
fi

bold=""; plain=""
if [ -t 1 ]; then bold=$'\033[1m'; plain=$'\033[0m'; fi

# ask QUESTION [OPTIONS...]: one greedy answer, the command shown first.
ask() {
  local question=$1
  shift
  echo
  echo "${bold}\$ r1 run -m $model -p \"$question\" --temp 0${*:+ $*}${plain}"
  "$r1" run -m "$model" -p "$question" --temp 0 "$@"
}

"$r1" info "$model" | sed -n '1,12p'

ask "What is 1234 + 5678?"
ask "What is 503 - 78?"
ask "Subtract 4321 from 1234."
ask "How much is 999 + 1?" --stats

echo
echo "${bold}Without thinking (--think-budget 0) the model must answer from intuition alone:${plain}"
ask "What is 1234 + 5678?" --think-budget 0
ask "What is 503 - 78?" --think-budget 0
