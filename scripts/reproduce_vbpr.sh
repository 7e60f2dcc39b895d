#!/usr/bin/env bash
# Stage 1 of the VBPR reproduction: baselines on seeds 0-2 and three +MRdIB alpha candidates on seed 0.
# Stage 2 (reproduce_vbpr_seeds.sh) runs the alphas with the best seed-0 VALID Recall@5 on seeds 1 and 2.
set -u
cd "$(dirname "$0")/.."
. .venv/bin/activate
A=${ARTIFACTS:-artifacts}
for data in tiktok baby; do
  D=${SHARED_DATA:-../shared/data}/$data
  for seed in 0 1 2; do
    python -m mrdib train --data $D --backbone vbpr --seed $seed --epochs 60 --patience 20 --threads 1 --quiet \
      --artifacts $A --run-id $data-vbpr-base-s$seed || true
  done
  for alphas in "0.001 0.01 0.01" "0.0001 0.005 0.005" "0.005 0.05 0.005"; do
    set -- $alphas
    python -m mrdib train --data $D --backbone vbpr --mrdib --a1 $1 --a2 $2 --a3 $3 --seed 0 --epochs 60 --patience 20 \
      --threads 1 --quiet --artifacts $A --run-id $data-vbpr-mrdib-a$1-$2-$3-s0 || true
  done
done
echo DONE
