# Set-up shared by the scripts run on a lent GPU machine; source it with the data sets to copy:
#   . "$(dirname "$0")/gpu_common.sh" baby tiktok
# Leaves the shell in the repository root with OUT created, the data sets under ../shared/data
# (copied from DATA_SRC, default .devdata, where missing), PY, and left() = seconds to DEADLINE.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-gpu-logs}
mkdir -p "$OUT" ../shared/data
for name in "$@"; do
  [ -d "../shared/data/$name" ] || cp -r "${DATA_SRC:-.devdata}/$name" ../shared/data/
done
export PYTHONPATH=$PWD PYTHONUNBUFFERED=1
PY=${PYTHON:-python3}
device_line() {
  $PY -c "import torch; print('torch', torch.__version__, 'cuda', torch.cuda.is_available(), torch.cuda.get_device_name(0))"
}
start=$(date +%s)
left() { echo $(( DEADLINE - ($(date +%s) - start) )); }
