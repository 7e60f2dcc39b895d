# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
# tiktok-mmgcn-base-s0-72ffaa921c: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "mmgcn", "backbone_params": {"aggr_mode": "mean", "concat": true, "dim_latent": 256, "has_id": true, "modal_fusion": "mean", "n_layers": 2, "project_modalities": ["image"], "reg_weight": 1e-05}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.0001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id tiktok-mmgcn-base-s0-72ffaa921c --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-base-s0-72ffaa921c --quiet
# tiktok-mmgcn-base-s1-26046ee9aa: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "mmgcn", "backbone_params": {"aggr_mode": "mean", "concat": true, "dim_latent": 256, "has_id": true, "modal_fusion": "mean", "n_layers": 2, "project_modalities": ["image"], "reg_weight": 1e-05}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.0001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 1 --run-id tiktok-mmgcn-base-s1-26046ee9aa --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-base-s1-26046ee9aa --quiet
# tiktok-mmgcn-base-s2-35c335a2a6: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "mmgcn", "backbone_params": {"aggr_mode": "mean", "concat": true, "dim_latent": 256, "has_id": true, "modal_fusion": "mean", "n_layers": 2, "project_modalities": ["image"], "reg_weight": 1e-05}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.0001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 2 --run-id tiktok-mmgcn-base-s2-35c335a2a6 --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-base-s2-35c335a2a6 --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-mrdib-s0-6c18ad438b --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-mrdib-s1-62a07f164d --quiet
python -m mrdib analyze artifacts/runs/tiktok-mmgcn-mrdib-s2-3c2a9bdde0 --quiet
