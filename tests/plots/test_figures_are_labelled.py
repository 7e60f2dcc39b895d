"""Every figure builder gives a title and a title on every axis (issue 33: figures that go straight
into a paper). Walks each builder of mrdib.figures.charts and the report's plots on small inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mrdib.figures import charts as plots

SENSITIVITY = pd.DataFrame([{"alpha": a, "value": v, "metric": "recall@5", "mean": 0.1 + v, "std": 0.01, "seeds": 2}
                            for a in ("a1", "a2", "a3") for v in (0.001, 0.01)])
TRACES = pd.DataFrame([(run, epoch, series, float(epoch)) for run in ("r1", "r2") for epoch in (1, 2, 3)
                       for series in ("losses/total", "monitor/mi_samples/image~text", "valid/recall@5")],
                      columns=["run", "epoch", "series", "value"])
PID = pd.DataFrame([{"label": "baseline · seed 0", "modality_a": "image", "modality_b": "text", "unique_a": 0.02,
                     "unique_b": 0.01, "redundant": 0.05, "synergistic": 0.03}])


def builders() -> dict[str, go.Figure]:
    modality = np.repeat(np.array(["image", "text"]), 20)
    coords = np.random.default_rng(0).normal(size=(40, 2))
    panels = [plots.ProjectionPanel(t, coords, modality) for t in ("baseline", "+MRdIB")]
    comparison = pd.DataFrame({"dataset": ["baby"], "backbone": ["vbpr"], "variant": ["improvement %"],
                               "recall@5": [5.0], "recall@5 paper": [23.0]})
    cost = pd.DataFrame({"dataset": ["baby"], "backbone": ["vbpr"], "s/epoch baseline": [1.0], "s/epoch +MRdIB": [1.2]})
    return {
        "projection": plots.projection_figure(panels),
        "sensitivity": plots.sensitivity_figure(SENSITIVITY, split="valid", baseline={"recall@5": 0.1}),
        "traces": plots.traces_figure(TRACES, list(dict.fromkeys(TRACES.series))),
        "improvement": plots.improvement_figure(comparison),
        "cost": plots.cost_figure(cost),
        "pid": plots.pid_figure(PID),
    }


@pytest.mark.parametrize("name", list(builders()))
def test_every_figure_has_a_title_and_axis_titles(name):
    figure = builders()[name]
    assert figure.layout.title.text, name
    axes = [key for key in figure.layout.to_plotly_json() if key.startswith(("xaxis", "yaxis"))]
    assert axes, name
    for key in axes:
        axis = figure.layout[key]
        shared_y = key.startswith("yaxis") and key != "yaxis" and name == "sensitivity"  # shared with panel 1
        upper_x = name == "traces" and key in ("xaxis", "xaxis2") and len(TRACES.series.unique()) > 2
        if shared_y or upper_x or axis.visible is False:  # a panel above another names only its y axis
            continue
        assert axis.title.text, f"{name}: {key} has no title"


def test_the_traces_panels_are_titled_in_words():
    figure = plots.traces_figure(TRACES, ["monitor/mi_samples/image~text"])
    [title] = [a.text for a in figure.layout.annotations]
    assert title == "redundancy on posterior samples (Gaussian MI): image~text"
    assert figure.layout.yaxis.title.text == "nats"


def analysis_builders() -> dict[str, go.Figure]:
    """The analysis figures (notebook 03 and the report) on a small analysis.json of each kind."""
    from mrdib.figures import analysis as figures

    pair = {"gaussian_mi": {"mean": 0.5, "std": 0.1}, "mine": {"mean": 0.4, "std": 0.1,
                                                               "shuffled": {"mean": 0.0, "std": 0.01}}, "cka": 0.3}
    metrics = {"recall@5": 0.1, "ndcg@5": 0.1}
    analysis = {"redundancy": {"samples": {"image~text": pair}, "means": {"image~text": pair}},
                "ranking": {"k": 5, "modalities": {"image": metrics, "text": metrics}, "fused": metrics,
                            "fused_probe": metrics},
                "probes": {"r2_sampled": {"image": {"noise/image": 0.1}}, "r2": {"image": {"noise/image": 0.2}},
                           "summary_sampled": {"unique_kept": 0.5}, "summary": {"unique_kept": 0.6}},
                "compression": {"image": {"kl_per_dim": [0.1, 0.2], "channel_information_per_dim": [0.1, 0.3],
                                          "channel_information": 0.4, "informative_dims": 1}}}
    runs = {"baseline": analysis, "+MRdIB": analysis}
    return {"redundancy": figures.redundancy_figure(runs), "ranking": figures.ranking_figure(runs),
            "probe_heatmap": figures.probe_heatmap_figure(runs), "probe_summary": figures.probe_summary_figure(runs),
            "compression": figures.compression_figure(runs)}


@pytest.mark.parametrize("name", list(analysis_builders()))
def test_every_analysis_figure_has_a_title_and_axis_titles(name):
    figure = analysis_builders()[name]
    assert figure.layout.title.text, name
    for key in [k for k in figure.layout.to_plotly_json() if k.startswith(("xaxis", "yaxis"))]:
        if name == "probe_heatmap" and key.startswith("yaxis") and key != "yaxis":
            continue  # panels side by side share the row labels' title
        assert figure.layout[key].title.text, f"{name}: {key} has no title"


def test_the_redundancy_panel_titles_are_short_enough_not_to_meet():
    figure = analysis_builders()["redundancy"]
    assert max(len(a.text) for a in figure.layout.annotations) <= 26
