# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
# tiktok-mmgcn-base-s0-cecbee880d: restored from a runs table; trained again first (same config and seed)
config=$(mktemp)
cat > "$config" <<'CONFIG'
{"backbone": "mmgcn", "backbone_params": {"aggr_mode": "mean", "concat": true, "dim_latent": 256, "has_id": true, "modal_fusion": "mean", "n_layers": 2, "project_modalities": ["image"], "reg_weight": 1e-05}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id tiktok-mmgcn-base-s0-cecbee880d --artifacts artifacts --threads 1 --quiet
rm -f "$config"
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-base-s0-cecbee880d --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-base-s1-f0b1eac632 --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-base-s2-ee975a8a1b --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-mrdib-s0-43ae62e10c --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-mrdib-s1-be859f4418 --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-mrdib-s2-20fdbaba9c --quiet
