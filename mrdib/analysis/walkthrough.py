"""Settings and the one training helper the notebooks share: full size by default, tiny when
MRDIB_NOTEBOOK_FAST=1 (the test suite executes every notebook that way, in well under a minute each)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from mrdib.analysis.analyze import AnalysisSettings
from mrdib.analysis.redundancy import MineSettings
from mrdib.core.config import resolve_config
from mrdib.data.dataset import InteractionData
from mrdib.data.synthetic import SyntheticConfig
from mrdib.core.device import WALKTHROUGH_THREADS, pin_threads

FAST_ENV = "MRDIB_NOTEBOOK_FAST"


@dataclass(frozen=True)
class WalkthroughSettings:
    """Data size, training length and analysis effort of a notebook run."""

    fast: bool
    synthetic: SyntheticConfig
    epochs: int
    batch_size: int
    embedding_size: int
    analysis: AnalysisSettings = field(default_factory=AnalysisSettings)

    def train_values(self, seed: int = 0) -> dict:
        """The `train` section of a config (for resolve_config's cli_values)."""
        return {"epochs": self.epochs, "patience": self.epochs, "batch_size": self.batch_size,
                "embedding_size": self.embedding_size, "seed": seed, "num_threads": WALKTHROUGH_THREADS}


def fast_mode() -> bool:
    return os.environ.get(FAST_ENV, "").strip().lower() not in ("", "0", "false", "no")


def walkthrough_settings(fast: bool | None = None) -> WalkthroughSettings:
    """Full size or, with MRDIB_NOTEBOOK_FAST=1, seconds. Pins the threads as the demo does."""
    pin_threads(WALKTHROUGH_THREADS)
    fast = fast_mode() if fast is None else fast
    if fast:
        return WalkthroughSettings(
            fast=True, synthetic=SyntheticConfig(n_users=300, n_items=240, seed=0), epochs=3, batch_size=512,
            embedding_size=16, analysis=AnalysisSettings(mine=MineSettings(steps=40, restarts=2, batch_size=128)))
    return WalkthroughSettings(fast=False, synthetic=SyntheticConfig(seed=0), epochs=20, batch_size=512,
                               embedding_size=64, analysis=AnalysisSettings())


def train_baseline_and_mrdib(settings: WalkthroughSettings, artifacts: str | Path, data_spec: str,
                             backbone: str = "vbpr", seed: int = 0,
                             data: InteractionData | None = None) -> dict[str, Path]:
    """Train `backbone` without and with MRdIB on `data_spec` (a data folder or "synthetic");
    returns {"baseline": run folder, "+MRdIB": run folder}."""
    from mrdib.training.runner import train_run

    run_dirs = {}
    for label, enabled in (("baseline", False), ("+MRdIB", True)):
        cfg = resolve_config(backbone, cli_values={"artifacts": str(artifacts), "data": data_spec,
                                                   "mrdib": {"enabled": enabled}, "train": settings.train_values(seed)})
        run_dirs[label] = train_run(cfg, progress=False, data=data)[0]
    return run_dirs
