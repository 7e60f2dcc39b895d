#!/usr/bin/env bash
# Runs the kill-a-worker tests N times in a row (default 30) with no reruns, optionally beside a
# busy loop on each core, and prints each failure's output and the load average after each run;
# exit status 1 if any run failed.
#   scripts/stress_fault_tolerance.sh [N] [--load]
# PostgreSQL variants run too when MRDIB_TEST_POSTGRES_URL is set (.ci/run shows how to start one).
set -uo pipefail
cd "$(dirname "$0")/.."
N=${1:-30}
LOAD=${2:-}
PYTHON=${PYTHON:-.venv/bin/python}
TESTS=(
  "tests/experiments/test_distributed.py::test_three_sweep_workers_one_killed_finish_every_point_once"
  "tests/experiments/test_distributed.py::test_three_tuning_workers_one_killed_finish_every_trial_once"
  "tests/experiments/test_distributed.py::test_a_worker_killed_right_after_claiming_is_taken_over"
  "tests/experiments/test_sweep.py::test_two_worker_processes"
)
LOADERS=()
if [ "$LOAD" = "--load" ]; then
  for _ in $(seq "$(nproc)"); do
    # a bounded busy loop per core: it ends by itself after two hours
    timeout 7200 sh -c 'while :; do :; done' & LOADERS+=($!)
  done
  trap 'kill "${LOADERS[@]}" 2>/dev/null' EXIT
fi
LOG_DIR=$(mktemp -d)
failures=0
for i in $(seq "$N"); do
  if "$PYTHON" -m pytest -q -p no:cacheprovider -p no:rerunfailures "${TESTS[@]}" >"$LOG_DIR/run-$i.log" 2>&1; then
    echo "run $i/$N: passed ($(tail -1 "$LOG_DIR/run-$i.log")), load average $(cut -d' ' -f1-3 /proc/loadavg)"
  else
    failures=$((failures + 1))
    echo "run $i/$N: FAILED, load average $(cut -d' ' -f1-3 /proc/loadavg), output in $LOG_DIR/run-$i.log"
    grep -E "^(E |FAILED)" "$LOG_DIR/run-$i.log" | head -40
  fi
done
echo "$failures of $N runs failed (logs in $LOG_DIR)"
[ "$failures" = 0 ]
