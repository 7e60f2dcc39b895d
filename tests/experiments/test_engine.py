"""The shared engine's small parts: storage errors, GPU spreading, duplicates, reading runs back."""

from __future__ import annotations

import optuna
import pytest
from optuna.trial import TrialState

from mrdib.commands.main import main
from mrdib.core.errors import MrdibError
from mrdib.experiments import engine
from mrdib.runs import database
from mrdib.experiments.plan import first_stage, sweep_config_from_dict
from mrdib.experiments.sweep import SweepStudy, run_sweep
from mrdib.runs.reader import runs_frame
from mrdib.runs.storage import storage_records
from experiment_helpers import one_thread, tiny_data_dir  # noqa: F401 (pytest fixtures)

TRAIN = {"epochs": 1, "batch_size": 512, "embedding_size": 16}


def baseline_raw(data_dir: str, name: str = "eng") -> dict:
    return {"name": name, "datasets": [data_dir], "backbones": ["vbpr"], "seeds": [0, 1], "variants": ["baseline"],
            "train": dict(TRAIN)}


def baseline_sweep(data_dir: str, name: str = "eng"):
    return sweep_config_from_dict(baseline_raw(data_dir, name))


def test_an_unreachable_database_is_one_line_naming_it_without_its_password(tmp_path, capsys):
    url = "postgresql://me:secret@127.0.0.1:9/nowhere"  # port 9 (discard): nothing listens there
    with pytest.raises(MrdibError, match=r"storage postgresql://me:\*\*\*@127.0.0.1:9/nowhere: cannot open") as error:
        database.open_storage(url)
    assert "secret" not in str(error.value) and "\n" not in str(error.value)
    config = tmp_path / "s.yaml"
    config.write_text("backbones: [vbpr]\n")
    assert main(["sweep", str(config), "--artifacts", str(tmp_path), "--storage", url]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("mrdib: error: storage postgresql://me:***@") and "\n" not in err


def test_cuda_workers_spread_over_the_visible_gpus(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    assert engine.worker_devices("cuda", 3) == ["cuda:0", "cuda:1", "cuda:0"]
    assert engine.worker_devices("cuda:1", 2) == ["cuda:1", "cuda:1"]  # a named GPU is kept
    assert engine.worker_devices(None, 2) == [None, None]
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert engine.worker_devices("cuda", 2) == ["cuda", "cuda"]
    assert engine.threads_per_worker(2, 3) == 3 and engine.threads_per_worker(10**6) == 1


def test_a_point_enqueued_twice_is_trained_once(tiny_data_dir, tmp_path):
    sweep = baseline_sweep(tiny_data_dir)
    study = SweepStudy(sweep, str(tmp_path))
    study.state(enqueue=True)
    first = first_stage(sweep, str(tmp_path), tiny_data_dir, "vbpr")[0]
    study._enqueue(first)  # what two workers planning at the same moment leave behind
    result = run_sweep(sweep, tmp_path, progress=False, threads=1)
    assert result.complete and result.counts == {"trained": 2, "duplicate": 1}
    trials = [t for t in study.study.get_trials() if t.user_attrs.get("run_id") == first.run_id]
    assert sorted(t.state for t in trials) == sorted([TrialState.COMPLETE, TrialState.PRUNED])


def test_a_sweep_with_other_settings_cannot_join_a_stored_one(tiny_data_dir, tmp_path):
    run_sweep(baseline_sweep(tiny_data_dir), tmp_path, progress=False, threads=1)
    changed = sweep_config_from_dict({"name": "eng", "datasets": [tiny_data_dir], "backbones": ["vbpr"],
                                      "seeds": [0], "variants": ["baseline"], "train": dict(TRAIN)})
    with pytest.raises(MrdibError, match="already stored with other settings \\(seeds\\)"):
        run_sweep(changed, tmp_path, progress=False, threads=1)


def test_runs_are_read_back_from_the_storage_and_listed_by_the_dashboard(tiny_data_dir, tmp_path, monkeypatch,
                                                                          capsys):
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    run_sweep(baseline_sweep(tiny_data_dir), tmp_path / "machine_a", progress=False, threads=1, storage=url)
    records = storage_records(url, artifacts=tmp_path / "machine_b")
    assert len(records) == 2 and {r.status for r in records} == {"done"}
    assert all(r.budget["epochs"] == 1 and not r.run_dir.exists() for r in records)
    frame = runs_frame(records)
    assert set(frame.backbone) == {"vbpr"} and frame["test/recall@5"].notna().all()
    with pytest.raises(MrdibError, match="no study named 'nope'"):
        storage_records(url, ["nope"])

    import yaml

    config = tmp_path / "eng.yaml"
    config.write_text(yaml.safe_dump(baseline_raw(tiny_data_dir)))
    assert main(["sweep", str(config), "--artifacts", str(tmp_path / "machine_b"), "--storage", url, "--dry-run"]) == 0
    assert "2 of up to 2 runs done; finished" in capsys.readouterr().out  # done on machine a, seen from machine b

    from app.lib import loaders

    monkeypatch.setenv("MRDIB_STORAGE", url)
    listed = loaders.load_runs(tmp_path / "machine_b")  # no run folder here: all from the storage
    assert sorted(listed.run_id) == sorted(r.run_id for r in records)
    assert optuna.get_all_study_names(database.plain_storage(url)) == ["sweep:eng"]


def test_tune_workers_share_one_study(tiny_data_dir, tmp_path):
    import os

    assert main(["tune", "--data", tiny_data_dir, "--study", "pair", "--trials", "2", "--workers", "2", "--no-prune",
                 "--sampler-seed", "5", "--epochs", "1", "--batch-size", "512", "--embedding-size", "16",
                 "--artifacts", str(tmp_path), "--quiet"]) == 0
    study = optuna.load_study(study_name="pair", storage=f"sqlite:///{(tmp_path / 'studies' / 'pair.db').resolve()}")
    complete = study.get_trials(states=(TrialState.COMPLETE,))
    assert 2 <= len(complete) <= 3  # two workers that start together may pass the budget by one
    assert len({t.user_attrs["run_id"] for t in complete}) == len(complete)
    assert all(not t.user_attrs["worker"].endswith(f":{os.getpid()}") for t in complete)  # trained in the workers


POP_SCRIPT = """
import json, sys
import optuna
from optuna.trial import TrialState
from mrdib.runs.database import plain_storage
optuna.logging.set_verbosity(optuna.logging.ERROR)
study = optuna.load_study(study_name="pop", storage=plain_storage(sys.argv[1]))
popped, failed = [], 0
while study.get_trials(deepcopy=False, states=(TrialState.WAITING,)):
    trial = study.ask()
    if "k" in trial.user_attrs:
        popped.append(trial.user_attrs["k"])
    try:
        study.tell(trial, 0.0)
    except (ValueError, optuna.exceptions.UpdateFinishedTrialError):  # another worker popped it too
        failed += 1
print(json.dumps({"popped": popped, "failed": failed}))
"""


def test_sqlite_workers_never_pop_the_same_waiting_trial(tmp_path):
    """SQLite has no row locks: with deferred transactions four workers popping 80 queued trials
    popped 12 twice (measured); every transaction now takes the write lock when it begins."""
    import json
    import subprocess
    import sys
    from collections import Counter

    url = f"sqlite:///{tmp_path / 'pop.db'}"
    study = optuna.create_study(study_name="pop", storage=database.plain_storage(url))
    for k in range(80):
        study.enqueue_trial({}, user_attrs={"k": k})
    workers = [subprocess.Popen([sys.executable, "-c", POP_SCRIPT, url], stdout=subprocess.PIPE, text=True)
               for _ in range(4)]
    results = [json.loads(worker.communicate(timeout=300)[0]) for worker in workers]
    popped = Counter(k for result in results for k in result["popped"])
    assert sorted(popped) == list(range(80)) and set(popped.values()) == {1}, popped.most_common(3)
    assert sum(result["failed"] for result in results) == 0
