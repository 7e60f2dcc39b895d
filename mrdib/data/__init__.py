"""Data sets: the in-memory `InteractionData`, MMRec folders on disk, the synthetic generator.

`load_dataset` is the one entry point the CLI uses: "synthetic" or a folder path.
"""

from __future__ import annotations

from pathlib import Path

from mrdib.data.dataset import InteractionData
from mrdib.data.loader import load_mmrec, require_folder, save_mmrec
from mrdib.data.split import split_per_user
from mrdib.data.synthetic import SyntheticConfig, generate_synthetic, materialize_synthetic

SYNTHETIC_SPEC = "synthetic"

__all__ = [
    "InteractionData",
    "SyntheticConfig",
    "generate_synthetic",
    "load_dataset",
    "load_mmrec",
    "materialize_synthetic",
    "save_mmrec",
    "split_per_user",
]


def check_data_spec(spec: str) -> None:
    """Refuse a spec that is neither "synthetic" nor an existing folder, before anything is written."""
    if spec != SYNTHETIC_SPEC:
        require_folder(Path(spec).expanduser())


def load_dataset(spec: str, root: Path, seed: int = 0) -> InteractionData:
    """Load "synthetic" (the default config for `seed`, cached under root/data) or a folder.

    For a folder without x_label, `seed` also picks its per-user split.
    """
    if spec == SYNTHETIC_SPEC:
        return load_mmrec(materialize_synthetic(SyntheticConfig(seed=seed), Path(root)))
    return load_mmrec(Path(spec).expanduser(), split_seed=seed)
