"""Writes a run folder (format: docs/run_format.md). The reader beside it is the only other
code that knows the layout."""

from __future__ import annotations

import json
import os
import platform
import secrets
import subprocess
from datetime import datetime, timezone
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import torch

from mrdib.core.io import (
    atomic_save_npz,
    atomic_torch_save,
    atomic_write_bytes,
    atomic_write_json,
    json_line,
    remove_stale_temporaries,
)

FORMAT_VERSION = 1
CONFIG_FILE = "config.json"
METRICS_FILE = "metrics.jsonl"
SUMMARY_FILE = "summary.json"
EMBEDDINGS_FILE = "embeddings.npz"
CHECKPOINT_FILE = "checkpoint.pt"
RESUME_FILE = "last.pt"
ANALYSIS_FILE = "analysis.json"  # written by `mrdib analyze` (mrdib/analysis)
# The files a run's own process replaces atomically; a kill mid-write leaves `.<name>.<random>.tmp`.
RUN_FILES = (CONFIG_FILE, METRICS_FILE, SUMMARY_FILE, EMBEDDINGS_FILE, CHECKPOINT_FILE, RESUME_FILE)

_PACKAGES = ("torch", "numpy", "scipy", "pandas", "scikit-learn", "mrdib")


def utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def new_run_id(dataset: str, backbone: str, mrdib_enabled: bool, seed: int) -> str:
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    variant = "mrdib" if mrdib_enabled else "base"
    return f"{dataset}-{backbone}-{variant}-s{seed}-{stamp}-{secrets.token_hex(2)}"


def cpu_model() -> str | None:
    """The CPU's model name (Linux), or what `platform` knows elsewhere."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def environment_info(torch_threads: int | None = None) -> dict[str, Any]:
    """Git commit, package versions, CPU and torch thread count, so a run says what produced it: with
    the MRdIB objective on, a different thread count changes the float sums and so the metrics."""
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                                cwd=Path(__file__).resolve().parent).stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        commit = None
    packages = {}
    for name in _PACKAGES:
        try:
            packages[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            pass
    if torch_threads is None:
        torch_threads = torch.get_num_threads()
    return {"git_commit": commit, "python": platform.python_version(), "packages": packages,
            "torch_threads": int(torch_threads), "cpu": cpu_model()}


class RunWriter:
    """Creates and updates one run folder; every file but metrics.jsonl is replaced atomically.

    A writer is made when its run starts or resumes, so it first removes the temporaries that a
    killed earlier process left behind (nothing else writes these files meanwhile).
    """

    def __init__(self, run_dir: str | Path):
        self.run_dir = Path(run_dir)
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.removed_temporaries = remove_stale_temporaries(self.run_dir, RUN_FILES)

    def write_config(self, config: dict[str, Any]) -> None:
        atomic_write_json(self.run_dir / CONFIG_FILE, {"format_version": FORMAT_VERSION, **config})

    def append_metrics(self, record: dict[str, Any]) -> None:
        with open(self.run_dir / METRICS_FILE, "a") as handle:
            handle.write(json_line(record) + "\n")
            handle.flush()
            os.fsync(handle.fileno())

    def truncate_metrics(self, last_epoch: int) -> None:
        """Keep only complete records up to `last_epoch` (used when resuming)."""
        path = self.run_dir / METRICS_FILE
        if not path.exists():
            return
        kept = []
        for line in path.read_text().splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if record.get("epoch", 0) <= last_epoch:
                kept.append(line)
        atomic_write_bytes(path, ("\n".join(kept) + "\n" if kept else "").encode())

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_json(self.run_dir / SUMMARY_FILE, {**summary, "updated": utc_now()})

    def save_checkpoint(self, state: dict[str, Any]) -> None:
        atomic_torch_save(self.run_dir / CHECKPOINT_FILE, {"format_version": FORMAT_VERSION, **state})

    def save_resume_state(self, state: dict[str, Any]) -> None:
        atomic_torch_save(self.run_dir / RESUME_FILE, {"format_version": FORMAT_VERSION, **state})

    def save_embeddings(self, arrays: dict[str, np.ndarray]) -> None:
        atomic_save_npz(self.run_dir / EMBEDDINGS_FILE, arrays)
