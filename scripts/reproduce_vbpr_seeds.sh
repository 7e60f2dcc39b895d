#!/usr/bin/env bash
# Second stage: per data set, the alphas with the best seed-0 VALID Recall@5 run on seeds 1 and 2.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
A=${ARTIFACTS:-artifacts}

for data in tiktok baby; do
  best=$(python - "$A" "$data" <<'PY'
import sys
from mrdib.runs.reader import list_runs
runs = [r for r in list_runs(sys.argv[1]) if r.run_id.startswith(f"{sys.argv[2]}-vbpr-mrdib-") and r.status == "done"]
best = max(runs, key=lambda r: r.summary["valid"]["recall@5"])
print(best.mrdib["a1"], best.mrdib["a2"], best.mrdib["a3"])
PY
)
  set -- $best
  for seed in 1 2; do
    python -m mrdib train --data ${SHARED_DATA:-../shared/data}/$data --backbone vbpr --mrdib --a1 $1 --a2 $2 --a3 $3 --seed $seed \
      --epochs 60 --patience 20 --threads 1 --quiet --artifacts $A --run-id $data-vbpr-mrdib-a$1-$2-$3-s$seed || true
  done
done
echo DONE
