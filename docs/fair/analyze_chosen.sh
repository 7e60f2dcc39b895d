# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
# tiktok-mgcn-base-s0-4e221b00b7: restored from a runs table; trained again first (same config and seed)
config=$(mktemp)
cat > "$config" <<'CONFIG'
{"backbone": "mgcn", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id tiktok-mgcn-base-s0-4e221b00b7 --artifacts artifacts --threads 1 --quiet
rm -f "$config"
python -m mrdib analyze artifacts/runs/tiktok-mgcn-base-s0-4e221b00b7 --quiet
# tiktok-mgcn-base-s1-5179d18bdf: restored from a runs table; trained again first (same config and seed)
config=$(mktemp)
cat > "$config" <<'CONFIG'
{"backbone": "mgcn", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 1 --run-id tiktok-mgcn-base-s1-5179d18bdf --artifacts artifacts --threads 1 --quiet
rm -f "$config"
python -m mrdib analyze artifacts/runs/tiktok-mgcn-base-s1-5179d18bdf --quiet
# tiktok-mgcn-base-s2-bfce6b8e2d: restored from a runs table; trained again first (same config and seed)
config=$(mktemp)
cat > "$config" <<'CONFIG'
{"backbone": "mgcn", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 2 --run-id tiktok-mgcn-base-s2-bfce6b8e2d --artifacts artifacts --threads 1 --quiet
rm -f "$config"
python -m mrdib analyze artifacts/runs/tiktok-mgcn-base-s2-bfce6b8e2d --quiet
# tiktok-mgcn-mrdib-s0-437a416c47: restored from a runs table; trained again first (same config and seed)
config=$(mktemp)
cat > "$config" <<'CONFIG'
{"backbone": "mgcn", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1}, "data": "../shared/data/tiktok", "mrdib": {"a1": 0.0001, "a2": 0.01, "a3": 0.01, "aux_batch_size": 0, "critic_beaten_epochs": 3, "critic_hidden": 64, "critic_lr": 0.003, "critic_standardise": true, "critic_steps": 5, "critic_warmup_steps": 100, "enabled": true, "init_log_var": null, "init_relative_log_var": -2.0, "log_var_scale": 10.0, "mine_batch_size": 512, "mine_bound": "dv", "mine_ema_rate": 0.01, "monitor_every": 1, "unique_mode": "standalone"}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id tiktok-mgcn-mrdib-s0-437a416c47 --artifacts artifacts --threads 1 --quiet
rm -f "$config"
python -m mrdib analyze artifacts/runs/tiktok-mgcn-mrdib-s0-437a416c47 --quiet
