"""What an analysis reads: the run's record, its saved embeddings and the data it was trained on."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from mrdib.data import load_dataset
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import RunError
from mrdib.runs.reader import RunRecord, embedded_modalities, load_embeddings, read_run


@dataclass
class RunInputs:
    """A finished run's config, embeddings (eval-mode means) and data set."""

    record: RunRecord
    embeddings: dict[str, np.ndarray]
    data: InteractionData

    @property
    def modalities(self) -> list[str]:
        """Modalities with saved representations, in the data's order."""
        saved = set(embedded_modalities(self.embeddings))
        return [m for m in self.data.modalities if m in saved]

    def modal_reps(self) -> dict[str, np.ndarray]:
        """Per-modality item representations entering fusion: modality -> [n_items, d]."""
        return {m: self.embeddings[f"modal/{m}"] for m in self.modalities}


def artifacts_root_of(run_dir: Path) -> Path:
    """Runs live in <artifacts>/runs/<run_id>, so the run's own artifacts folder is two up
    (cached synthetic data sits there, whatever the working directory was at training)."""
    return run_dir.resolve().parent.parent


def load_run_inputs(run_dir: str | Path, data: InteractionData | None = None,
                    data_spec: str | None = None) -> RunInputs:
    """Read a finished run; load its data from the config unless `data` (or `data_spec`) is given."""
    run_dir = Path(run_dir)
    record = read_run(run_dir)
    embeddings = load_embeddings(run_dir)
    if data is None:
        spec = data_spec or record.config.get("data")
        if not spec:
            raise RunError(f"{run_dir / 'config.json'}: no 'data' entry; pass the data with --data PATH")
        data = load_dataset(spec, artifacts_root_of(run_dir))
    n_items, n_users = embeddings["fused/items"].shape[0], embeddings["fused/users"].shape[0]
    if (data.n_items, data.n_users) != (n_items, n_users):
        raise RunError(f"{run_dir}: embeddings hold {n_users} users x {n_items} items but the data set "
                       f"{data.source or data.name} has {data.n_users} x {data.n_items}; pass the run's data "
                       "with --data PATH")
    inputs = RunInputs(record, embeddings, data)
    if not inputs.modalities:
        raise RunError(f"{run_dir}: embeddings.npz holds no modal/<modality> arrays matching the data's "
                       f"modalities {data.modalities}")
    return inputs
