"""Figure builders draw one panel or bar group per run from analysis dicts."""

import plotly.graph_objects as go

from mrdib.figures.analysis import (compression_figure, probe_heatmap_figure, probe_summary_figure, ranking_figure,
                                    redundancy_figure)


def analysis(enabled: bool) -> dict:
    r2 = {"image": {"unique/image": 0.9, "noise/image": 0.2}, "text": {"unique/text": 0.8, "noise/text": 0.1}}
    summary = {"unique_kept": 0.85, "noise_recoverable": 0.15, "redundant_duplication": 0.4}
    return {
        "mrdib_enabled": enabled,
        "redundancy": {view: {"image~text": {
            "cka": 0.3, "gaussian_mi": {"mean": gaussian, "std": 0.05, "estimates": [gaussian]},
            "mine": {"mean": 1.0, "std": 0.1, "estimates": [0.9, 1.1],
                     "shuffled": {"mean": -0.01, "std": 0.0, "estimates": [-0.01]}}}}
            for view, gaussian in (("means", 2.0), ("samples", 1.5))},
        "ranking": {"k": 5, "modalities": {"image": {"recall@5": 0.1}, "text": {"recall@5": 0.2}},
                    "fused": {"recall@5": 0.3}, "fused_probe": {"recall@5": 0.25}},
        "compression": {"image": {"kl_per_dim": [0.1, 2.0, 0.5], "channel_information_per_dim": [0.05, 1.0, 0.3],
                                  "channel_information": 1.35, "informative_dims": 2}} if enabled else None,
        "probes": {"r2": r2, "r2_sampled": r2, "summary": summary, "summary_sampled": summary},
    }


def test_every_figure_builds_from_analyses():
    analyses = {"baseline": analysis(False), "+MRdIB": analysis(True)}
    redundancy = redundancy_figure(analyses)
    # Per run: Gaussian MI, MINE, its shuffled control and CKA; samples by default.
    assert len(redundancy.data) == 8 and list(redundancy.data[0].y) == [1.5]
    assert list(redundancy.data[1].error_y.array) == [0.1] and list(redundancy.data[2].y) == [-0.01]
    assert list(redundancy_figure(analyses, view="means").data[0].y) == [2.0]
    # A version 1 analysis (one entry per pair, means only) still draws.
    old = {"redundancy": {"image~text": {"cka": 0.3, "mine": {"mean": 1.0, "std": 0.1}}}}
    assert list(redundancy_figure({"v1": old}).data[3].y) == [0.3]
    ranking = ranking_figure(analyses)
    assert list(ranking.data[1].y) == [0.1, 0.2, 0.3, 0.25]
    heatmap = probe_heatmap_figure(analyses)
    assert len(heatmap.data) == 2 and heatmap.data[0].z.shape == (2, 4)
    assert list(probe_summary_figure(analyses).data[0].y) == [0.85, 0.15, 0.4]
    compression = compression_figure(analyses)
    assert len(compression.data) == 1 and list(compression.data[0].y) == [1.0, 0.3, 0.05]
    assert "2 dims > 0.1" in compression.data[0].name
    assert all(isinstance(f, go.Figure) for f in (redundancy, ranking, heatmap, compression))
