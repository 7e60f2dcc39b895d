"""The most-popular reference: scored like a model, and found only where the data folder is."""

from __future__ import annotations

import numpy as np
import pytest

from mrdib.data import load_mmrec, save_mmrec
from mrdib.results.render import popularity_line
from mrdib.evaluation.popularity import popularity_metrics, popularity_table


def test_popularity_recall_is_the_hits_of_each_users_most_popular_unseen_items(small_data):
    """Checked against a plain loop over users; ties at the fifth item may break either way, so the
    loop gives bounds: hits among items strictly above the fifth's count, and among all items tied with it."""
    counts = np.bincount(small_data.train[:, 1], minlength=small_data.n_items)
    seen = (small_data.train_csr + small_data.valid_csr).tolil().rows
    targets = small_data.test_csr.tolil().rows
    lower, upper = [], []
    for user in range(small_data.n_users):
        wanted = set(targets[user])
        if not wanted:
            continue
        unseen = np.setdiff1d(np.arange(small_data.n_items), seen[user])
        fifth = np.sort(counts[unseen])[::-1][4]
        above = set(unseen[counts[unseen] > fifth])
        tied = set(unseen[counts[unseen] == fifth])
        lower.append(len(wanted & above) / len(wanted))
        upper.append(min(len(wanted & (above | tied)), 5) / len(wanted))
    measured = popularity_metrics(small_data, "test", topk=(5,))["recall@5"]
    assert np.mean(lower) - 1e-9 <= measured <= np.mean(upper) + 1e-9
    assert measured > 0 and np.mean(upper) - np.mean(lower) < 0.05  # the bounds are tight enough to mean something


def test_the_table_has_rows_for_folders_that_exist_and_none_for_others(small_data, tmp_path):
    folder = save_mmrec(small_data, tmp_path / "tiny")
    configs = [{"data": str(folder), "dataset_name": "tiny"}, {"data": "synthetic", "dataset_name": "synthetic"},
               {"data": str(tmp_path / "gone"), "dataset_name": "gone"}, {"data": str(folder), "dataset_name": "tiny"}]
    table = popularity_table(configs)
    assert set(table.dataset) == {"tiny"} and set(table.split) == {"valid", "test"}
    assert len(table) == 2 * 12  # three cut-offs x four metrics, per split
    test = table.set_index(["split", "metric"])["value"]
    assert test[("test", "recall@5")] == pytest.approx(popularity_metrics(load_mmrec(folder), "test")["recall@5"])
    line = popularity_line(table, "tiny")
    assert line is not None and f"R@5 {test[('test', 'recall@5')]:.4f}" in line
    assert popularity_line(table, "synthetic") is None
