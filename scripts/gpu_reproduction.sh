#!/usr/bin/env bash
# The reproduction sweeps on one GPU machine with 16 cores (how docs/results.md's GPU runs were made).
# Several sweep workers share the GPU; every sweep stops cleanly at DEADLINE seconds and is
# resumable anywhere (python -m mrdib sweep <config> --device cpu finishes it on a CPU).
#   DATA_SRC=<folder holding baby/ and tiktok/> OUT=<folder for logs> scripts/gpu_reproduction.sh
set -u
DEADLINE=${DEADLINE:-470}
. "$(dirname "$0")/gpu_common.sh" baby tiktok
export OMP_NUM_THREADS=1
device_line
sweep() {  # config workers
  local t; t=$(left); [ "$t" -gt 20 ] || return 0
  timeout -k 20 -s INT "$t" $PY -m mrdib sweep "configs/sweeps/$1.yaml" --workers "$2" --threads 1 --device cuda \
    --quiet >>"$OUT/$1.log" 2>&1
  echo "$1 exit $? at $(( $(date +%s) - start )) s" | tee -a "$OUT/timeline.txt"
}
sweep reproduction_tiktok 6 &
( sweep reproduction_baby 8; sweep ablation_baby 8 ) &
wait
nvidia-smi --query-gpu=name,memory.used,memory.total --format=csv >>"$OUT/timeline.txt" 2>&1
