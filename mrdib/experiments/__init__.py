"""Experiments at scale: sweeps over data sets, backbones, alphas, ablations and seeds
(`plan`, `sweep`), automatic alpha tuning with Optuna (`tune`), the worker engine both share
(`engine`), restoring runs from a committed runs table (`restore`) and which runs a report reads
(`sweep_report`). The numbers themselves are computed one layer down, in `mrdib.results`.
"""
