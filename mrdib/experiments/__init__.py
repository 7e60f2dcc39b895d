"""Experiments at scale: sweeps over data sets, backbones, alphas, ablations and seeds
(`plan`, `sweep`), validation-only model selection (`selection`), automatic alpha tuning with
Optuna (`tune`), statistics over seeds (`stats`) and the paper-style report (`report`).

Every module reads finished runs through `mrdib.runs.reader`; nothing runs on import.
"""
