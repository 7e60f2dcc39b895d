"""Training settings that used to fail late: a stop metric the cut-offs do not produce (now one line at
config time, exit 2), `--topk`/`--stop-metric` on the command line, and the temporaries a killed run
left in its folder (removed when the run resumes)."""

from __future__ import annotations

import pytest

from mrdib.commands.main import main
from mrdib.core.config import RunConfig, resolve_config, validate_train_config
from mrdib.core.errors import ConfigError
from mrdib.runs.reader import list_runs
from mrdib.runs.writer import RESUME_FILE, RunWriter
from testing_support import fast_config


def test_stop_metric_outside_topk_fails_in_one_line_before_any_folder(tmp_path, capsys):
    config = tmp_path / "run.yaml"
    config.write_text("train: {topk: [1, 2, 3]}\n")
    code = main(["train", "--config", str(config), "--artifacts", str(tmp_path / "art"), "--quiet"])
    assert code == 2
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("mrdib: error:")
    assert "recall@5" in lines[0] and "recall@3" in lines[0] and "--stop-metric" in lines[0]
    assert not (tmp_path / "art" / "runs").exists()


@pytest.mark.parametrize("train, message", [
    ({"topk": [10], "stop_metric": "ndcg@5"}, "ndcg@5"),
    ({"topk": [5], "stop_metric": "auc@5"}, "auc@5"),
    ({"topk": [0, 5]}, "positive"),
    ({"topk": "five"}, "list of integers"),
])
def test_bad_topk_settings_are_config_errors(train, message):
    with pytest.raises(ConfigError, match=message):
        resolve_config("vbpr", {"train": train})


def test_validate_accepts_the_defaults_and_a_matching_pair():
    validate_train_config(RunConfig().train)
    assert resolve_config("vbpr", cli_values={"train": {"topk": [1, 3], "stop_metric": "ndcg@3"}}).train.topk == (1, 3)


def test_topk_and_stop_metric_on_the_command_line(tmp_path, capsys):
    code = main(["train", "--data", "synthetic", "--epochs", "1", "--embedding-size", "8", "--topk", "1", "3",
                 "--stop-metric", "recall@3", "--artifacts", str(tmp_path), "--quiet"])
    assert code == 0
    [run] = list_runs(tmp_path)
    assert run.config["train"]["topk"] == [1, 3] and run.config["train"]["stop_metric"] == "recall@3"
    assert set(run.summary["test"]) >= {"recall@1", "recall@3", "ndcg@3"} and "recall@5" not in run.summary["test"]


def test_writer_removes_only_the_run_files_temporaries(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    stale = [folder / ".last.pt.k3j2a9.tmp", folder / ".summary.json.x1y2.tmp", folder / ".metrics.jsonl.q.tmp"]
    kept = [folder / ".analysis.json.zz.tmp", folder / "notes.tmp", folder / "last.pt"]
    for path in stale + kept:
        path.write_bytes(b"")
    writer = RunWriter(folder)
    assert sorted(writer.removed_temporaries) == sorted(stale)
    assert not any(p.exists() for p in stale) and all(p.exists() for p in kept)


class _Interrupt:
    """Stops training after the first epoch the way Ctrl-C does, once last.pt is written."""

    def on_train_start(self, trainer) -> None: ...

    def on_batch_end(self, trainer) -> None: ...

    def on_epoch_end(self, trainer, record) -> None:
        raise KeyboardInterrupt

    def on_train_end(self, trainer, result) -> None: ...


def test_resume_removes_the_empty_temporary_of_a_killed_checkpoint_write(tmp_path):
    from mrdib.training.runner import resume_run, train_run

    cfg = fast_config(tmp_path, run_id="killed", train__epochs=2)
    with pytest.raises(KeyboardInterrupt):
        train_run(cfg, progress=False, callbacks=[_Interrupt()])  # resume reloads the data named in the config
    run_dir = tmp_path / "runs" / "killed"
    assert (run_dir / RESUME_FILE).is_file()
    leftover = run_dir / f".{RESUME_FILE}.a8f3kq.tmp"  # what a kill inside atomic_torch_save leaves
    leftover.write_bytes(b"")
    resume_run(run_dir, progress=False)
    assert not leftover.exists()
    assert not list(run_dir.glob(".*.tmp"))
    assert list_runs(tmp_path)[0].status == "done"
