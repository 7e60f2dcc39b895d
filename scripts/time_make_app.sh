#!/usr/bin/env bash
# Times `make app` on a fresh clone, as a new user meets it: clone, make app (venv, pip install,
# dashboard), then prints the seconds until the dashboard answers, until the demo's first batch and
# its PID are done (every page but Dose-response has data), and until the whole demo is done (its
# last step, the dose-response check, fills that page), with the load average.
#   scripts/time_make_app.sh [CLONE_DIR] [PORT]
# Needs Python 3.11 and a reachable package index (pip's cache makes a second try faster: say so
# when you report the time). Stops the dashboard and the demo at the end; the clone is kept.
set -uo pipefail
SOURCE="$(cd "$(dirname "$0")/.." && pwd)"
CLONE=${1:-$(mktemp -d)/mrdib}
PORT=${2:-8501}
FIRST_STEPS=7  # mrdib.commands.demo: first_batch_size() runs, then the PID of their first pair
git clone -q "$SOURCE" "$CLONE" || exit 1
cd "$CLONE" || exit 1
echo "clone: $CLONE at $(git rev-parse --short HEAD); load average $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s.%N)
since() { awk -v a="$(date +%s.%N)" -v b="$start" 'BEGIN { printf "%.1f", a - b }'; }
setsid make app ARTIFACTS=artifacts >make_app.log 2>&1 &
MAKE_PID=$!
trap 'kill -- -$MAKE_PID 2>/dev/null; pkill -f "$CLONE/.venv/bin/python -m mrdib demo" 2>/dev/null' EXIT
answered="" first="" all=""
while kill -0 "$MAKE_PID" 2>/dev/null; do
  if [ -z "$answered" ] && [ "$(curl -s -m 2 "http://127.0.0.1:$PORT/_stcore/health")" = "ok" ]; then
    answered=$(since); echo "dashboard answered after ${answered} s (pip install included)"
  fi
  if [ -n "$answered" ] && [ -f artifacts/demo_status.json ]; then
    done_runs=$(python3 -c "import json; s=json.load(open('artifacts/demo_status.json')); print(s.get('done', 0), s.get('total', 0), s.get('state'))")
    read -r n total state <<<"$done_runs"
    if [ -z "$first" ] && [ "$n" -ge "$FIRST_STEPS" ]; then
      first=$(since); echo "first $FIRST_STEPS demo steps done (every page but Dose-response has data) after ${first} s"
    fi
    if [ "$state" = "done" ] || [ "$state" = "failed" ]; then
      all=$(since); echo "demo $state: $n of $total steps after ${all} s (every page has data)"; break
    fi
  fi
  sleep 1
done
[ -n "$all" ] || { echo "make app stopped before the demo finished; see $CLONE/make_app.log"; exit 1; }
echo "load average at the end $(cut -d' ' -f1-3 /proc/loadavg); $(nproc) cores"
