"""SOIL-specific parts: second-order interest mining on a hand-made graph, the augmented graphs, the loss."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
import torch

from testing_support import shared_data_folder
from mrdib.backbones.base import BPRBatch
from mrdib.backbones.mgcn import MGCN
from mrdib.backbones.soil import SOIL, item_interest_edges, top_k_per_row, user_interest_edges
from mrdib.data.dataset import InteractionData
from mrdib.core.errors import ConfigError

# u0: i0 i1 | u1: i1 i2 | u2: i2 i3 | u3: i4
TOY = sp.csr_matrix((np.ones(7), ([0, 0, 1, 1, 2, 2, 3], [0, 1, 1, 2, 2, 3, 4])), shape=(4, 5))


def pairs(rows: torch.Tensor, cols: torch.Tensor) -> set[tuple[int, int]]:
    return set(zip(rows.tolist(), cols.tolist()))


def batch_of(data: InteractionData, size: int, seed: int = 0) -> BPRBatch:
    generator = torch.Generator().manual_seed(seed)
    rows = torch.randint(len(data.train), (size,), generator=generator)
    chosen = torch.from_numpy(data.train).long().index_select(0, rows)
    return BPRBatch(chosen[:, 0], chosen[:, 1], torch.randint(data.n_items, (size,), generator=generator))


def build(data: InteractionData, **params) -> SOIL:
    torch.manual_seed(0)
    return SOIL(data, embedding_size=16, **params)


def test_user_interests_are_the_items_of_co_interacting_users_ranked_by_path_count():
    # path counts R (R^T R): u0 -> [2,3,1,0,0], u1 -> [1,3,3,1,0], u2 -> [0,1,3,2,0], u3 -> [0,0,0,0,1]
    assert pairs(*user_interest_edges(TOY, k=1)) == {(0, 2), (1, 0), (2, 1)}  # u1: tie i0/i3 -> lower index
    assert pairs(*user_interest_edges(TOY, k=2)) == {(0, 2), (1, 0), (1, 3), (2, 1)}  # own items never, u3 none


def test_item_interests_count_only_co_interactions_through_second_order_edges():
    interests = sp.csr_matrix((np.ones(3), ([0, 1, 2], [2, 0, 1])), shape=(4, 5))  # the k=1 user interests
    # A^T A - R^T R rows: i0 [1,1,2,0,0], i1 [1,1,2,1,0], i2 [2,2,1,0,0], i3 [0,1,0,0,0], i4 zeros
    assert pairs(*item_interest_edges(TOY, interests, k=1)) == {(0, 2), (1, 2), (2, 0), (3, 1)}
    assert pairs(*item_interest_edges(TOY, interests, k=2)) == {(0, 2), (0, 1), (1, 2), (1, 0), (2, 0), (2, 1),
                                                                (3, 1)}


def test_top_k_does_not_depend_on_the_block_size():
    rng = np.random.default_rng(0)
    counts = sp.random(30, 20, density=0.4, random_state=1, data_rvs=lambda n: rng.integers(1, 4, n)).tocsr()
    exclude = sp.random(30, 20, density=0.1, random_state=2).tocsr()
    results = [pairs(*top_k_per_row(lambda a, b: counts[a:b], 30, 20, 3, exclude, block_cells=cells))
               for cells in (1, 45, 10_000)]
    assert results[0] == results[1] == results[2]
    dense, excluded = counts.toarray(), exclude.toarray() != 0
    assert all(dense[r, c] > 0 and not excluded[r, c] for r, c in results[0])
    per_row = np.bincount([r for r, _ in results[0]], minlength=30)
    eligible = ((dense > 0) & ~excluded).sum(1)
    assert np.array_equal(per_row, np.minimum(eligible, 3))


def test_graphs_hold_the_interest_edges_and_the_first_order_graph_is_mgcn_s(small_data):
    model = build(small_data, user_interest_k=2, item_interest_k=3)
    torch.manual_seed(0)
    reference = MGCN(small_data, embedding_size=16)
    first_order = model.first_order_graph.matrix.to_dense()
    assert torch.equal(first_order, reference.ui_graph.matrix.to_dense())
    augmented = model.ui_graph.matrix.to_dense()
    assert torch.allclose(augmented, augmented.T)
    n_users = small_data.n_users
    new_edges = (augmented[:n_users, n_users:] > 0) & (first_order[:n_users, n_users:] == 0)
    assert new_edges.sum(1).max() == 2 and new_edges.sum() > n_users  # up to 2 interests per user
    for m in small_data.modalities:
        assert model.item_graphs[m].matrix.values().numel() > reference.item_graphs[m].matrix.values().numel()
    assert not hasattr(model, "_item_interests")


def test_without_interests_soil_is_mgcn(small_data):
    model = build(small_data, user_interest_k=0, item_interest_k=0, interest_cl_weight=0.0)
    torch.manual_seed(0)
    reference = MGCN(small_data, embedding_size=16)
    batch = batch_of(small_data, 128)
    assert torch.equal(model.loss(model.forward_fused(), batch), reference.loss(reference.forward_fused(), batch))


def test_both_contrastive_terms_are_active_and_weighted(small_data):
    model = build(small_data)
    batch = batch_of(small_data, 128)
    fused = model.forward_fused()
    interest = model.interest_contrastive_loss(fused, batch)
    assert interest > 0 and model.contrastive_loss(fused, batch) > 0
    with_interest = model.loss(fused, batch)
    model.interest_cl_weight = 0.0
    assert torch.allclose(with_interest - model.loss(fused, batch), 0.01 * interest)
    # the interest term reaches the ID embeddings through the first-order view too
    model.interest_cl_weight = 1.0
    model.user_embedding.grad = None
    model.interest_contrastive_loss(fused, batch).backward()
    assert model.user_embedding.grad.abs().sum() > 0


def test_settings_are_validated(small_data):
    with pytest.raises(ConfigError):
        SOIL(small_data, embedding_size=16, user_interest_k=-1)


@pytest.mark.real_data
@pytest.mark.parametrize("name", ["tiktok"])
def test_soil_builds_and_steps_on_real_data(name):
    from mrdib.data import load_mmrec

    data = load_mmrec(shared_data_folder(name))
    model = SOIL(data, embedding_size=16)
    n_train = len(np.unique(data.train, axis=0))
    added = (model.ui_graph.matrix.values().numel() - 2 * n_train) // 2
    assert 0 < added <= 5 * data.n_users
    loss = model.loss(model.forward_fused(), batch_of(data, 256))
    loss.backward()
    assert torch.isfinite(loss) and loss > 0
