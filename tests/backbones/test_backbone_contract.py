"""Every registered backbone honours the contract MRdIB relies on (one parametrised suite)."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pytest
import torch

from testing_support import backbone_config
from mrdib.backbones import available_backbones, get_backbone
from mrdib.backbones.base import Backbone, BPRBatch, pos_neg_rows
from mrdib.evaluation.ranking import EvalConfig, RankingEvaluator
from mrdib.training.runner import build_trainer, train_run
from mrdib.runs.reader import load_checkpoint, load_embeddings, read_metrics, read_run
from mrdib.training.sampler import BPRSampler

BACKBONES = available_backbones()


@pytest.mark.parametrize("name", BACKBONES)
def test_smoke_run_writes_a_complete_folder(name, small_data, tmp_path):
    cfg = backbone_config(name, tmp_path, enabled=True)
    run_dir, result = train_run(cfg, progress=False, data=small_data)
    record = read_run(run_dir)
    assert record.status == "done" and record.backbone == name
    assert len(read_metrics(run_dir)) == 2
    embeddings = load_embeddings(run_dir)
    for modality in small_data.modalities:
        assert embeddings[f"modal/{modality}"].shape[0] == small_data.n_items
        assert np.isfinite(embeddings[f"modal/{modality}"]).all()
    assert embeddings["fused/users"].shape[0] == small_data.n_users
    assert set(load_checkpoint(run_dir)["model"]) == set(build_trainer(cfg, small_data).model.state_dict())
    assert 0.0 <= result.test["recall@20"] <= 1.0


@pytest.mark.parametrize("name", BACKBONES)
def test_plugin_off_reproduces_the_plain_backbone(name, small_data, tmp_path):
    """The wrapper switched off trains exactly like a hand-written loop over the bare backbone."""
    cfg = backbone_config(name, tmp_path, enabled=False, a1=0.5, a2=0.5, a3=0.5)
    trainer = build_trainer(cfg, small_data)
    assert list(trainer.model.state_dict()) == [f"backbone.{k}" for k in trainer.model.backbone.state_dict()]
    wrapped = []
    for epoch in (1, 2):
        trainer.train_epoch(epoch)
        wrapped.append(trainer.evaluate("valid"))

    torch.manual_seed(cfg.train.seed)
    backbone: Backbone = get_backbone(name)(small_data, embedding_size=cfg.train.embedding_size,
                                            **cfg.backbone_params)
    optimizer = torch.optim.Adam(backbone.parameters(), lr=cfg.train.learning_rate, fused=True)
    sampler = BPRSampler(small_data, cfg.train.batch_size)
    evaluator = RankingEvaluator(small_data, "valid", EvalConfig(tuple(cfg.train.topk), cfg.train.eval_batch_size))
    plain = []
    for epoch in (1, 2):
        backbone.train()
        backbone.pre_epoch(epoch)
        for batch in sampler.epoch():
            loss = backbone.loss(backbone.fuse(backbone.encode()), batch)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        backbone.eval()
        with torch.no_grad():
            fused = backbone.fuse(backbone.encode())
            plain.append(evaluator.evaluate(lambda users: backbone.score(fused, users)))
    assert wrapped == plain


@pytest.mark.parametrize("name", BACKBONES)
def test_evaluation_is_deterministic_and_ignores_the_last_training_step(name, small_data, tmp_path):
    cfg = backbone_config(name, tmp_path, enabled=True)
    trainer = build_trainer(cfg, small_data)
    trainer.train_epoch(1)
    first = trainer.evaluate("valid")
    # A training-mode forward (noise, dropout) in between must not change what evaluation sees.
    batch = next(iter(trainer.sampler.epoch()))
    trainer.model.train()
    trainer.model.training_step(batch)
    assert trainer.evaluate("valid") == first
    trainer.model.eval()
    with torch.no_grad():
        a = trainer.model.representations()[1].items.clone()
        b = trainer.model.representations()[1].items
    assert torch.equal(a, b)


@pytest.mark.parametrize("name", BACKBONES)
def test_mrdib_logs_every_term_per_modality(name, small_data, tmp_path):
    cfg = backbone_config(name, tmp_path, enabled=True, a1=0.01, a2=0.01, a3=0.01)
    run_dir, _ = train_run(cfg, progress=False, data=small_data)
    record = read_metrics(run_dir)[-1]
    assert set(record["kl"]) == set(small_data.modalities)
    assert set(record["mine_bound"]) == {"~".join(small_data.modalities)}
    assert {"total", "backbone", "kl", "mine", "unique"} <= set(record["losses"])
    assert all(np.isfinite(v) for v in record["losses"].values())
    config = json.loads((run_dir / "config.json").read_text())
    assert config["mrdib"]["enabled"] is True and config["backbone"] == name


@pytest.mark.parametrize("name", [n for n in BACKBONES if not get_backbone(n).loss_reads_all_items])
def test_batch_rows_shortcut_gives_the_full_loss_and_gradients(name, small_data, tmp_path):
    """A backbone that declares loss_reads_all_items = False must have the same MRdIB loss and
    gradients when the bottleneck runs on the batch's rows alone as when it runs on every item
    (compared with the bottleneck at its mean, so no noise differs)."""
    cfg = backbone_config(name, tmp_path, enabled=True, a1=0.1, a2=0.1, a3=0.1)
    model = build_trainer(cfg, small_data).model
    model.eval()  # bottleneck means; the backbone's own training randomness is off as well
    torch.manual_seed(1)
    batch = next(iter(BPRSampler(small_data, 64).epoch()))
    results = []
    generator = model.generator(torch.device("cpu"))
    start = generator.get_state()
    for reads_all in (False, True):
        model.backbone.loss_reads_all_items = reads_all
        model.zero_grad(set_to_none=True)
        for estimator in model.estimators.values():
            estimator.log_ema.fill_(float("nan"))
        generator.set_state(start)  # the same MINE subset and shuffle
        step = model.training_step(batch)
        step.loss.backward()
        grads = {k: p.grad.clone() for k, p in model.named_parameters() if p.grad is not None}
        results.append((step.loss.detach(), grads))
    (loss_rows, grads_rows), (loss_all, grads_all) = results
    assert torch.allclose(loss_rows, loss_all, rtol=1e-5, atol=1e-6)
    assert grads_rows.keys() == grads_all.keys()
    for key in grads_all:
        assert torch.allclose(grads_rows[key], grads_all[key], rtol=1e-4, atol=1e-6), key


def test_pos_neg_rows_equals_two_gathers_in_values_and_gradient():
    torch.manual_seed(0)
    items = torch.randn(30, 4, requires_grad=True)
    batch = BPRBatch(torch.arange(6), torch.tensor([1, 1, 5, 7, 29, 0]), torch.tensor([2, 1, 3, 3, 8, 29]))
    weights = torch.randn(2, 6, 4)
    pos, neg = pos_neg_rows(items, batch)
    ((pos * weights[0]).sum() + (neg * weights[1]).sum()).backward()
    reference = items.detach().clone().requires_grad_(True)
    ref_pos, ref_neg = reference.index_select(0, batch.pos_items), reference.index_select(0, batch.neg_items)
    ((ref_pos * weights[0]).sum() + (ref_neg * weights[1]).sum()).backward()
    assert torch.equal(pos, ref_pos) and torch.equal(neg, ref_neg)
    assert torch.allclose(items.grad, reference.grad, atol=1e-6)


@pytest.mark.parametrize("name", BACKBONES)
def test_building_and_training_print_no_warnings(name, small_data, tmp_path):
    """A user sees no library warnings (sparse beta notices, invariant checks) from a plain run."""
    cfg = backbone_config(name, tmp_path, enabled=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        trainer = build_trainer(cfg, small_data)
        trainer.train_epoch(1)
        trainer.evaluate("valid")
