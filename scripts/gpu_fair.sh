#!/usr/bin/env bash
# The fair reproduction (issue 15: configs/sweeps/fair_tiktok.yaml, fair_baby.yaml) on one lent GPU
# machine, in pieces. Each call trains until DEADLINE seconds (every sweep stops cleanly and is
# resumable), analyses the chosen runs finished so far (`mrdib analyze` needs their checkpoints,
# which stay on the machine), writes the report with runs.csv to $OUT/fair/ and the sweeps' small
# state to $OUT/state/ (study databases; each run's config, summary, metrics and analysis). Give
# that folder to the next call as STATE_IN and its finished runs are skipped; runs it left
# unfinished start again. Without STATE_IN the runs the committed docs/fair/runs.csv holds count as
# done (`mrdib sweep --restore-from`; RESTORE= turns that off). On a CPU: DEVICE=cpu.
#   DATA_SRC=<folder holding baby/ and tiktok/> OUT=<folder> [STATE_IN=<state folder>] scripts/gpu_fair.sh
set -u
DEADLINE=${DEADLINE:-400}
. "$(dirname "$0")/gpu_common.sh" baby tiktok
export OMP_NUM_THREADS=1
ART=${ART:-artifacts}
mkdir -p "$ART" "$OUT/state"
[ -n "${STATE_IN:-}" ] && cp -r "$STATE_IN"/. "$ART"/
RESTORE=${RESTORE-docs/fair/runs.csv}
[ -f "$RESTORE" ] || RESTORE=
[ "${DEVICE:-cuda}" = cpu ] || device_line
sweep() {  # config workers
  local t; t=$(left); [ "$t" -gt 20 ] || return 0
  timeout -k 20 -s INT "$t" $PY -m mrdib sweep "configs/sweeps/$1.yaml" --workers "$2" --threads 1 \
    --device "${DEVICE:-cuda}" --artifacts "$ART" --quiet ${RESTORE:+--restore-from "$RESTORE"} >>"$OUT/$1.log" 2>&1
  echo "$1 exit $? at $(( $(date +%s) - start )) s" | tee -a "$OUT/timeline.txt"
}
sweep fair_tiktok "${WORKERS_TIKTOK:-8}" &
sweep fair_baby "${WORKERS_BABY:-6}" &
wait
report() {
  $PY -m mrdib report --sweep fair_tiktok --sweep fair_baby --artifacts "$ART" --out "$OUT/fair" --no-png \
    >>"$OUT/report.log" 2>&1
}
report
if [ -f "$OUT/fair/analyze_chosen.sh" ]; then  # one analysis per chosen run, eight at a time
  grep '^python ' "$OUT/fair/analyze_chosen.sh" | sed "s|^python |$PY |; s|\$| --threads 2|" \
    | timeout -k 10 "${ANALYZE_SECONDS:-150}" xargs -P 8 -I{} sh -c '{}' >>"$OUT/analyze.log" 2>&1
  rm -f "$OUT/fair/analyze_chosen.sh"
  report
fi
(cd "$ART" && find sweeps runs -maxdepth 2 -not -path '*/.*' \
   \( -name '*.db' -o -name '*.json' -o -name 'metrics.jsonl' \) -print0 | xargs -0 -r cp --parents -t "$OUT/state")
echo "report and state written at $(( $(date +%s) - start )) s" | tee -a "$OUT/timeline.txt"
