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
                                         "embedding_size": fast.embedding_size, "seed": 3, "num_threads": 1}


def test_the_walkthrough_pins_threads_as_the_demo_does():
    """Notebook 01 once ran 17x slower than the demo's identical run: it left torch's threads spinning."""
    import torch

    from mrdib.commands.demo import start_in_background
    from mrdib.core.device import WALKTHROUGH_THREADS

    from threadpoolctl import threadpool_limits

    before = torch.get_num_threads()
    with threadpool_limits(limits=None):  # restores the BLAS pools' sizes on exit
        try:
            torch.set_num_threads(2)
            walkthrough_settings(fast=True)
            assert torch.get_num_threads() == WALKTHROUGH_THREADS == 1
        finally:
            torch.set_num_threads(before)
    assert start_in_background.__defaults__[-1] == WALKTHROUGH_THREADS
