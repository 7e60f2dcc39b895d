#!/usr/bin/env bash
# MRdIB's overhead per epoch on one GPU, one process at a time (docs/results.md's GPU timings
# came from workers sharing the GPU and are not an overhead measurement): bench_training for
# the six backbones on Baby, bench_overhead_floor (the work MRdIB cannot skip, against the 5%
# budget), then bench_mrdib_parts for VBPR and MGCN. Stops at DEADLINE seconds.
#   DATA_SRC=<folder holding baby/> OUT=<folder for logs> DEADLINE=420 scripts/gpu_overhead.sh
set -u
DEADLINE=${DEADLINE:-420}
. "$(dirname "$0")/gpu_common.sh" baby
device_line | tee -a "$OUT/overhead.txt"
bench() {
  local t; t=$(left); [ "$t" -gt 15 ] || { echo "skipped (deadline): $*" | tee -a "$OUT/overhead.txt"; return 0; }
  timeout -k 10 "$t" $PY "$@" 2>&1 | grep -v -i warning | tee -a "$OUT/overhead.txt"
}
bench benchmarks/bench_training.py --data baby --backbones vbpr freedom dualgnn mmgcn mgcn soil --epochs 3 \
  --device cuda --threads 4
bench benchmarks/bench_overhead_floor.py --data baby --device cuda --threads 4 --steps 40
bench benchmarks/bench_mrdib_parts.py --backbone vbpr --device cuda --threads 4
bench benchmarks/bench_mrdib_parts.py --backbone mgcn --device cuda --threads 4 --epochs 2
echo "done at $(( $(date +%s) - start )) s" | tee -a "$OUT/overhead.txt"
