"""Figure builders draw one panel or bar group per run from analysis dicts."""

import plotly.graph_objects as go

from mrdib.analysis.figures import (compression_figure, probe_heatmap_figure, probe_summary_figure, ranking_figure,
                                    redundancy_figure)


def analysis(enabled: bool) -> dict:
    r2 = {"image": {"unique/image": 0.9, "noise/image": 0.2}, "text": {"unique/text": 0.8, "noise/text": 0.1}}
    summary = {"unique_kept": 0.85, "noise_recoverable": 0.15, "redundant_duplication": 0.4}
    return {
        "mrdib_enabled": enabled,
        "redundancy": {"image~text": {"cka": 0.3, "mine": {"mean": 1.0, "std": 0.1, "estimates": [0.9, 1.1]}}},
        "ranking": {"k": 5, "modalities": {"image": {"recall@5": 0.1}, "text": {"recall@5": 0.2}},
                    "fused": {"recall@5": 0.3}, "fused_probe": {"recall@5": 0.25}},
        "compression": {"image": {"kl_per_dim": [0.1, 2.0, 0.5], "active_dims": 1}} if enabled else None,
        "probes": {"r2": r2, "r2_sampled": r2, "summary": summary, "summary_sampled": summary},
    }


def test_every_figure_builds_from_analyses():
    analyses = {"baseline": analysis(False), "+MRdIB": analysis(True)}
    redundancy = redundancy_figure(analyses)
    assert len(redundancy.data) == 4 and list(redundancy.data[0].error_y.array) == [0.1]
    ranking = ranking_figure(analyses)
    assert list(ranking.data[1].y) == [0.1, 0.2, 0.3, 0.25]
    heatmap = probe_heatmap_figure(analyses)
    assert len(heatmap.data) == 2 and heatmap.data[0].z.shape == (2, 4)
    assert list(probe_summary_figure(analyses).data[0].y) == [0.85, 0.15, 0.4]
    compression = compression_figure(analyses)
    assert len(compression.data) == 1 and list(compression.data[0].y) == [2.0, 0.5, 0.1]
    assert all(isinstance(f, go.Figure) for f in (redundancy, ranking, heatmap, compression))
