"""Disentanglement analysis of a finished run: redundancy, unique information, compression and
(on synthetic data) how much of each planted factor each modality's representation holds.

`python -m mrdib analyze RUN` runs it and writes `analysis.json` beside the run. Names are
exported lazily: the CLI imports this package on every command, and the analysis pulls in
scikit-learn, which should cost nothing until it is used.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AnalysisSettings": "mrdib.analysis.analyze",
    "analyze_run": "mrdib.analysis.analyze",
    "save_analysis": "mrdib.analysis.analyze",
    "RunInputs": "mrdib.analysis.inputs",
    "load_run_inputs": "mrdib.analysis.inputs",
    "linear_cka": "mrdib.analysis.redundancy",
    "mine_redundancy": "mrdib.analysis.redundancy",
    "redundancy_between_modalities": "mrdib.analysis.redundancy",
    "ridge_user_vectors": "mrdib.analysis.ranking",
    "modality_ranking": "mrdib.analysis.ranking",
    "posterior_statistics": "mrdib.analysis.compression",
    "probe_planted_factors": "mrdib.analysis.probes",
    "compare_runs": "mrdib.analysis.summaries",
    "analysis_table": "mrdib.analysis.summaries",
    "flatten_analysis": "mrdib.analysis.summaries",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'mrdib.analysis' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
