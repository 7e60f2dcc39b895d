"""The most-popular ranking: every user gets the items with most training interactions.

No model can be called useful on a data set where it does not beat this, so the report puts it
beside Table 1. On TikTok it is strong (test Recall@5 0.0439, above most tuned backbones there).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd
import torch

from mrdib.data.dataset import InteractionData
from mrdib.evaluation.ranking import SPLITS, EvalConfig, RankingEvaluator

POPULARITY_COLUMNS = ("dataset", "split", "metric", "value")


def popularity_metrics(data: InteractionData, split: str, topk: Sequence[int] = (5, 10, 20)) -> dict[str, float]:
    """Every metric of the most-popular ranking on `split`, scored as the models are (seen items masked)."""
    counts = torch.from_numpy(np.bincount(data.train[:, 1], minlength=data.n_items).astype(np.float32))
    evaluator = RankingEvaluator(data, split, EvalConfig(topk=tuple(topk)))
    return evaluator.evaluate(lambda users: counts.expand(len(users), -1).clone())


def popularity_table(run_configs: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """One row per (data set, split, metric) for each data folder the runs used that exists here.

    Synthetic data and folders this machine does not have are left out: a report rebuilt from a
    runs table elsewhere simply has no reference line. The split is the one the runs saw when the
    folder fixes it (MMRec's x_label); otherwise the seed-0 split.
    """
    from mrdib.data import load_mmrec

    folders: dict[str, str] = {}
    for config in run_configs:
        spec = str(config.get("data", ""))
        name = str(config.get("dataset_name") or Path(spec).name)
        if spec and Path(spec).expanduser().is_dir():
            folders.setdefault(name, spec)
    rows = []
    for name, spec in sorted(folders.items()):
        data = load_mmrec(Path(spec).expanduser(), split_seed=0)
        for split in SPLITS:
            rows += [(name, split, metric, value) for metric, value in popularity_metrics(data, split).items()]
    return pd.DataFrame(rows, columns=list(POPULARITY_COLUMNS))

