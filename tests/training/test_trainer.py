"""Trainer, run folders, resume, early stopping and determinism."""

from __future__ import annotations

import json

import pytest
import torch

from testing_support import fast_config
from mrdib.core.errors import ConfigError
from mrdib.training.runner import resume_run, train_run
from mrdib.runs.reader import list_runs, load_checkpoint, read_metrics, read_run
from mrdib.training.sampler import BPRSampler
from mrdib.training.trainer import Callback


def test_same_seed_same_metrics_and_different_seed_differs(small_data, tmp_path):
    results = [train_run(fast_config(tmp_path, train__seed=seed, mrdib__enabled=True), progress=False,
                         data=small_data)[1] for seed in (0, 0, 1)]
    assert results[0].test == results[1].test and results[0].valid == results[1].valid
    assert results[0].valid != results[2].valid


def test_data_handed_in_needs_no_data_folder_but_bad_settings_are_still_refused(small_data, tmp_path):
    """train_run(cfg, data=...) trains whatever cfg.data names; every other check still runs first."""
    cfg = fast_config(tmp_path, data="no/such/folder")
    run_dir, _ = train_run(cfg, progress=False, data=small_data)
    assert (run_dir / "summary.json").exists()
    with pytest.raises(ConfigError, match="train.epochs"):
        train_run(fast_config(tmp_path, data="no/such/folder", train__epochs=0), progress=False, data=small_data)


def test_run_folder_contents_follow_the_format(small_data, tmp_path):
    run_dir, result = train_run(fast_config(tmp_path, mrdib__enabled=True, train__num_threads=1), progress=False,
                                data=small_data)
    config = json.loads((run_dir / "config.json").read_text())
    assert config["format_version"] == 1 and config["env"]["packages"]["torch"].startswith("2.13")
    assert config["env"]["torch_threads"] == 1  # +MRdIB's float sums, and so its metrics, depend on it
    assert config["dataset"]["n_items"] == small_data.n_items
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["status"] == "done" and summary["best_epoch"] == result.best_epoch
    metrics = read_metrics(run_dir)
    assert [m["epoch"] for m in metrics] == [1, 2, 3, 4]
    best = metrics[result.best_epoch - 1]
    # The summary's valid metrics are those of the best epoch, which was chosen on valid only.
    assert summary["valid"] == pytest.approx(best["valid"])
    assert best["valid"]["recall@5"] == max(m["valid"]["recall@5"] for m in metrics)
    checkpoint = load_checkpoint(run_dir)
    assert checkpoint["epoch"] == result.best_epoch
    assert not list(run_dir.glob("*.tmp")) and not list(run_dir.glob(".*"))


def test_early_stopping_honours_patience(small_data, tmp_path):
    cfg = fast_config(tmp_path, train__epochs=50, train__patience=2, train__learning_rate=0.05)
    _, result = train_run(cfg, progress=False, data=small_data)
    assert result.stopped_early and result.epochs_run == result.best_epoch + 2


class InterruptAfter(Callback):
    def __init__(self, epoch: int):
        self.epoch = epoch

    def on_epoch_end(self, trainer, record):
        if record.epoch == self.epoch:
            raise KeyboardInterrupt


def test_resume_continues_exactly_where_it_stopped(small_data, tmp_path, monkeypatch):
    straight_dir, straight = train_run(fast_config(tmp_path / "a", mrdib__enabled=True), progress=False,
                                       data=small_data)

    import mrdib.training.runner as runner

    real_build = runner.build_trainer
    monkeypatch.setattr(runner, "build_trainer",
                        lambda cfg, data, callbacks=None: real_build(cfg, data, (callbacks or []) + [InterruptAfter(2)]))
    cfg = fast_config(tmp_path / "b", mrdib__enabled=True)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, progress=False, data=small_data)
    run_dir = tmp_path / "b" / "runs" / cfg.run_id
    assert read_run(run_dir).status == "failed"
    monkeypatch.setattr(runner, "build_trainer", real_build)
    monkeypatch.setattr(runner, "load_dataset", lambda spec, root: small_data)
    _, resumed = resume_run(run_dir, progress=False)
    assert resumed.test == straight.test
    assert [m["valid"] for m in read_metrics(run_dir)] == [m["valid"] for m in read_metrics(straight_dir)]


def test_reader_tolerates_half_written_lines_and_corrupt_folders(small_data, tmp_path):
    run_dir, _ = train_run(fast_config(tmp_path), progress=False, data=small_data)
    with open(run_dir / "metrics.jsonl", "a") as handle:
        handle.write('{"epoch": 5, "valid": {"recall')
    assert len(read_metrics(run_dir)) == 4
    broken = tmp_path / "runs" / "broken"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    records = {r.run_dir.name: r for r in list_runs(tmp_path)}
    assert records["broken"].status == "corrupt" and "config.json" in records["broken"].problem
    assert records[run_dir.name].status == "done"


def test_negative_sampler_never_returns_a_training_positive(small_data):
    torch.manual_seed(0)
    sampler = BPRSampler(small_data, 256)
    positives = set(map(tuple, small_data.train.tolist()))
    for batch in sampler.epoch():
        assert len(batch.users) == len(batch.neg_items)
        assert not any((u, i) in positives for u, i in zip(batch.users.tolist(), batch.neg_items.tolist()))
    assert sum(len(b.users) for b in sampler.epoch()) == len(small_data.train)
