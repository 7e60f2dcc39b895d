"""The notebooks' shared settings: MRDIB_NOTEBOOK_FAST shrinks everything."""

import pytest

from mrdib.analysis.walkthrough import walkthrough_settings


@pytest.mark.parametrize("value, fast", [("1", True), ("true", True), ("0", False), ("", False)])
def test_fast_mode_follows_the_environment(monkeypatch, value, fast):
    monkeypatch.setenv("MRDIB_NOTEBOOK_FAST", value)
    assert walkthrough_settings().fast is fast


def test_fast_settings_are_smaller_than_full_ones():
    fast, full = walkthrough_settings(fast=True), walkthrough_settings(fast=False)
    assert fast.synthetic.n_items < full.synthetic.n_items and fast.epochs < full.epochs
    assert fast.analysis.mine.steps < full.analysis.mine.steps
    assert fast.train_values(seed=3) == {"epochs": fast.epochs, "patience": fast.epochs, "batch_size": fast.batch_size,
                                         "embedding_size": fast.embedding_size, "seed": 3}
