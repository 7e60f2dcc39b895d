# The chosen runs the mechanism table lacks; then rerun `mrdib report`.
set -e
# baby-freedom-base-s0-cd9ab92b03: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "freedom", "backbone_params": {"dropout": 0.8, "knn_k": 10, "modality_weights": {"image": 0.1, "text": 0.9}, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1, "train_features": true}, "data": "../shared/data/baby", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id baby-freedom-base-s0-cd9ab92b03 --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/baby-freedom-base-s0-cd9ab92b03 --quiet
# baby-freedom-base-s1-e40bcdc326: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "freedom", "backbone_params": {"dropout": 0.8, "knn_k": 10, "modality_weights": {"image": 0.1, "text": 0.9}, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1, "train_features": true}, "data": "../shared/data/baby", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 1 --run-id baby-freedom-base-s1-e40bcdc326 --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/baby-freedom-base-s1-e40bcdc326 --quiet
# baby-freedom-base-s2-f2c53be8ab: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "freedom", "backbone_params": {"dropout": 0.8, "knn_k": 10, "modality_weights": {"image": 0.1, "text": 0.9}, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1, "train_features": true}, "data": "../shared/data/baby", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 2 --run-id baby-freedom-base-s2-f2c53be8ab --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/baby-freedom-base-s2-f2c53be8ab --quiet
# baby-freedom-mrdib-s0-a35c4b2f7d: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "freedom", "backbone_params": {"dropout": 0.8, "knn_k": 10, "modality_weights": {"image": 0.1, "text": 0.9}, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.1, "train_features": true}, "data": "../shared/data/baby", "mrdib": {"a1": 0.001, "a2": 0.01, "a3": 0.01, "aux_batch_size": 0, "critic_beaten_epochs": 3, "critic_hidden": 64, "critic_lr": 0.003, "critic_standardise": true, "critic_steps": 5, "critic_warmup_steps": 100, "enabled": true, "init_log_var": null, "init_relative_log_var": -2.0, "log_var_scale": 10.0, "mine_batch_size": 512, "mine_bound": "dv", "mine_ema_rate": 0.01, "monitor_every": 1, "unique_mode": "standalone"}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id baby-freedom-mrdib-s0-a35c4b2f7d --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/baby-freedom-mrdib-s0-a35c4b2f7d --quiet
python -m mrdib analyze artifacts/runs/baby-freedom-mrdib-s1-0f4f362267 --quiet
python -m mrdib analyze artifacts/runs/baby-freedom-mrdib-s2-94322bfca0 --quiet
# tiktok-soil-base-s0-c841dab4f5: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "soil", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "interest_cl_weight": 0.01, "interest_weight": 1.0, "item_interest_k": 5, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.001, "user_interest_k": 5}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id tiktok-soil-base-s0-c841dab4f5 --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-soil-base-s0-c841dab4f5 --quiet
# tiktok-soil-base-s1-b6d08ecf0b: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "soil", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "interest_cl_weight": 0.01, "interest_weight": 1.0, "item_interest_k": 5, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.001, "user_interest_k": 5}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 1 --run-id tiktok-soil-base-s1-b6d08ecf0b --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-soil-base-s1-b6d08ecf0b --quiet
# tiktok-soil-base-s2-14677fb214: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "soil", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "interest_cl_weight": 0.01, "interest_weight": 1.0, "item_interest_k": 5, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.001, "user_interest_k": 5}, "data": "../shared/data/tiktok", "mrdib": {"enabled": false}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 2 --run-id tiktok-soil-base-s2-14677fb214 --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-soil-base-s2-14677fb214 --quiet
# tiktok-soil-mrdib-s0-8a8d3ac37d: restored from a runs table; trained again first (same config and seed)
config_dir=$(mktemp -d)
config="$config_dir/config.json"
cat > "$config" <<'CONFIG'
{"backbone": "soil", "backbone_params": {"cl_temperature": 0.2, "cl_weight": 0.01, "finetune_features": true, "interest_cl_weight": 0.01, "interest_weight": 1.0, "item_interest_k": 5, "knn_k": 10, "n_mm_layers": 1, "n_ui_layers": 2, "reg_weight": 0.001, "user_interest_k": 5}, "data": "../shared/data/tiktok", "mrdib": {"a1": 0.0001, "a2": 0.01, "a3": 0.01, "aux_batch_size": 0, "critic_beaten_epochs": 3, "critic_hidden": 64, "critic_lr": 0.003, "critic_standardise": true, "critic_steps": 5, "critic_warmup_steps": 100, "enabled": true, "init_log_var": null, "init_relative_log_var": -2.0, "log_var_scale": 10.0, "mine_batch_size": 512, "mine_bound": "dv", "mine_ema_rate": 0.01, "monitor_every": 1, "unique_mode": "standalone"}, "train": {"batch_size": 2048, "embedding_size": 64, "epochs": 150, "eval_batch_size": 4096, "learning_rate": 0.001, "patience": 20, "stop_metric": "recall@5", "topk": [5, 10, 20]}}
CONFIG
python -m mrdib train --config "$config" --seed 0 --run-id tiktok-soil-mrdib-s0-8a8d3ac37d --artifacts artifacts --threads 1 --quiet
rm -rf "$config_dir"
python -m mrdib analyze artifacts/runs/tiktok-soil-mrdib-s0-8a8d3ac37d --quiet
python -m mrdib analyze artifacts/runs/tiktok-soil-mrdib-s1-247bb577f9 --quiet
python -m mrdib analyze artifacts/runs/tiktok-soil-mrdib-s2-8202ae812e --quiet
