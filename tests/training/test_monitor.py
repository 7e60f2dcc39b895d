"""The mechanism monitor: fresh redundancy on posterior samples, log-variances, the beaten-critic warning."""

from __future__ import annotations

import json
from types import SimpleNamespace

import numpy as np

from testing_support import fast_config
from mrdib.training.runner import train_run
from mrdib.runs.reader import read_metrics
from mrdib.training.monitor import CRITIC_BEATEN, MechanismMonitor
from mrdib.training.trainer import EpochRecord, StopState


def test_a_mrdib_run_logs_the_mechanism_and_saves_the_posterior_spread(small_data, tmp_path):
    run_dir, _ = train_run(fast_config(tmp_path, mrdib__enabled=True), progress=False, data=small_data)
    metrics = read_metrics(run_dir)
    for epoch in metrics:
        monitor = epoch["monitor"]
        assert set(monitor["log_var"]) == set(small_data.modalities)
        assert set(monitor["mi_samples"]) == {"image~text"} and np.isfinite(monitor["mi_samples"]["image~text"])
    embeddings = np.load(run_dir / "embeddings.npz")
    for modality in small_data.modalities:
        log_var = embeddings[f"modal_log_var/{modality}"]
        assert log_var.shape == embeddings[f"modal/{modality}"].shape and np.isfinite(log_var).all()
    summary = json.loads((run_dir / "summary.json").read_text())
    assert summary["warnings"] == []


def test_a_baseline_run_has_no_monitor_and_no_log_variances(small_data, tmp_path):
    run_dir, _ = train_run(fast_config(tmp_path), progress=False, data=small_data)
    assert all("monitor" not in epoch for epoch in read_metrics(run_dir))
    assert not [k for k in np.load(run_dir / "embeddings.npz").files if k.startswith("modal_log_var/")]


class _FakeModel:
    enabled, pairs = True, [("image", "text")]

    def __init__(self, weight: float):
        self.weight = weight

    def redundancy_weight(self) -> float:
        return self.weight


def _epochs(monitor: MechanismMonitor, weight: float, bounds: list[float], fresh: float) -> list[dict]:
    trainer = SimpleNamespace(model=_FakeModel(weight), stop=StopState())
    monitor._fresh_estimates = lambda trainer, record: {"image~text": fresh}  # no model behind the fake
    for epoch, bound in enumerate(bounds, start=1):
        record = EpochRecord(epoch, 0.0, 0.0, {"mine_bound/image~text": bound}, {}, False)
        monitor.on_epoch_end(trainer, record)
    return trainer.stop.warnings


def test_a_beaten_critic_is_reported_once_after_the_set_number_of_epochs():
    warnings = _epochs(MechanismMonitor(beaten_epochs=3), 0.1, [0.2, -0.1, -0.2, -0.1, -0.3, -0.2], fresh=0.8)
    assert len(warnings) == 1 and warnings[0]["code"] == CRITIC_BEATEN and warnings[0]["epoch"] == 4
    assert "image~text" in warnings[0]["message"] and "0.80 nats" in warnings[0]["message"]


def test_the_logged_warning_names_its_run(caplog):
    """A demo or a sweep logs many runs into one file: the line must say which run it is about."""
    with caplog.at_level("WARNING", logger="mrdib.training.monitor"):
        _epochs(MechanismMonitor(beaten_epochs=3, run_id="baby-vbpr-mrdib-s0-abc"), 0.1, [-0.1] * 4, fresh=0.8)
    assert any("run baby-vbpr-mrdib-s0-abc, epoch 3" in r.getMessage() for r in caplog.records)


def test_no_warning_when_the_bound_recovers_no_redundancy_is_left_or_a2_does_not_act():
    assert _epochs(MechanismMonitor(beaten_epochs=3), 0.1, [-0.1, -0.1, 0.3, -0.1, -0.1], fresh=0.8) == []
    assert _epochs(MechanismMonitor(beaten_epochs=3), 0.1, [-0.1] * 6, fresh=0.02) == []  # truly independent
    assert _epochs(MechanismMonitor(beaten_epochs=3), 0.0, [-0.1] * 6, fresh=0.8) == []  # a2 = 0 or warm-up


def test_the_reader_and_the_traces_page_see_a_runs_warnings(small_data, tmp_path):
    from app.lib.traces import default_series, series_options
    from mrdib.runs.reader import read_run
    from mrdib.results.tables import traces_frame

    run_dir, _ = train_run(fast_config(tmp_path, mrdib__enabled=True), progress=False, data=small_data)
    summary_path = run_dir / "summary.json"
    summary = json.loads(summary_path.read_text())
    summary["warnings"] = [{"epoch": 3, "code": CRITIC_BEATEN, "pair": "image~text", "message": "beaten"}]
    summary_path.write_text(json.dumps(summary))
    assert read_run(run_dir).warnings[0]["message"] == "beaten"
    options = series_options(traces_frame({"r": read_metrics(run_dir)}))
    assert "monitor/mi_samples/image~text" in default_series(options)
