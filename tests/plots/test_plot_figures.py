"""Figure builders: trace types, point counts, axes; and export to PNG/SVG/PDF through kaleido."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
import pytest

from mrdib.figures.charts import (ProjectionPanel, alpha_text, cost_figure, figure_bytes, improvement_figure,
                         projection_figure, sensitivity_figure, traces_figure)


def panel(title, n=30, color=None):
    modality = np.repeat(np.array(["image", "text"]), n)
    coords = np.random.default_rng(0).normal(size=(2 * n, 2))
    return ProjectionPanel(title, coords, modality, color, caption=f"{title} silhouette 0.1")


def test_projection_panels_side_by_side():
    fig = projection_figure([panel("baseline"), panel("+MRdIB")])
    assert [t.type for t in fig.data] == ["scatter"] * 4
    assert [len(t.x) for t in fig.data] == [30] * 4
    assert [t.xaxis for t in fig.data] == ["x", "x", "x2", "x2"]
    assert [t.showlegend for t in fig.data] == [True, True, False, False]
    assert [a.text for a in fig.layout.annotations][-2:] == ["baseline silhouette 0.1", "+MRdIB silhouette 0.1"]


def test_projection_colour_by_cluster_uses_symbols_for_modalities():
    clusters = np.tile(np.arange(3), 20).astype(float)
    fig = projection_figure([panel("a", color=clusters)], color_title="cluster", categorical=True)
    assert [t.marker.symbol for t in fig.data] == ["circle", "x"]
    assert fig.data[0].marker.cmin == 0 and fig.data[0].marker.cmax == 2
    assert len(fig.data[0].marker.colorscale) == 6  # three flat steps


def legend_and_colorbar_apart(fig: go.Figure) -> bool:
    """The legend lies wholly above the plotting area, the colourbar (paper coordinates) inside its height."""
    legend = fig.layout.legend
    bar = next(t.marker.colorbar for t in fig.data if t.marker.showscale)
    bar_top = bar.y + bar.len / 2 if bar.yanchor == "middle" else bar.y + bar.len
    return legend.yanchor == "bottom" and legend.y >= 1.0 and bar_top <= 1.0 and bar.xanchor == "left"


@pytest.mark.parametrize("categorical", [True, False])
def test_colourbar_title_does_not_cover_the_legend(categorical):
    clusters = np.tile(np.arange(8), 8)[:60].astype(float)
    fig = projection_figure([panel("baseline", color=clusters), panel("+MRdIB", color=clusters)],
                            color_title="item cluster (k-means on the baseline's fused items)", categorical=categorical)
    assert legend_and_colorbar_apart(fig)
    assert fig.layout.legend.orientation == "h" and fig.layout.margin.r >= 80  # room for the bar and its title
    assert sum(bool(t.marker.showscale) for t in fig.data) == 1


@pytest.mark.parametrize("value, text", [(0.0001, "0.0001"), (0.001, "0.001"), (0.05, "0.05"), (0.01, "0.01"),
                                         (1e-5, "1e-5"), (2e-6, "2e-6"), (0.0, "0")])
def test_alphas_are_written_as_the_field_does(value, text):
    assert alpha_text(value) == text


def test_sensitivity_ticks_at_the_alphas_run_with_room_at_the_ends():
    values = (0.0001, 0.001, 0.005, 0.01, 0.05)
    frame = pd.DataFrame([{"alpha": a, "value": v, "metric": "recall@5", "mean": 0.1, "std": 0.0, "seeds": 1}
                          for a in ("a1", "a2", "a3") for v in values])
    fig = sensitivity_figure(frame)
    for axis in (fig.layout.xaxis, fig.layout.xaxis2, fig.layout.xaxis3):
        assert list(axis.tickvals) == list(values)
        assert list(axis.ticktext) == ["0.0001", "0.001", "0.005", "0.01", "0.05"]
        assert axis.tickangle == -90 and axis.automargin  # 0.005 and 0.01 would overlap side by side
        low, high = axis.range
        assert low < np.log10(values[0]) - 0.25 and high > np.log10(values[-1]) + 0.25
    # panels leave a gap between one panel's last label and the next one's first
    assert fig.layout.xaxis2.domain[0] - fig.layout.xaxis.domain[1] >= 0.05


def test_large_projection_switches_to_webgl():
    fig = projection_figure([panel("big", n=3000)])
    assert {t.type for t in fig.data} == {"scattergl"}


def test_sensitivity_panels_log_axes_and_error_bars():
    frame = pd.DataFrame([{"alpha": a, "value": v, "metric": m, "mean": 0.1, "std": 0.01, "seeds": 2}
                          for a in ("a1", "a2", "a3") for v in (0.001, 0.01) for m in ("recall@5", "ndcg@5")])
    fig = sensitivity_figure(frame)
    assert len(fig.data) == 6 and all(len(t.x) == 2 for t in fig.data)
    assert fig.layout.xaxis.type == fig.layout.xaxis3.type == "log"
    assert list(fig.data[0].error_y.array) == [0.01, 0.01]


def test_traces_raw_and_smoothed_per_run():
    traces = pd.DataFrame([(run, epoch, series, float(epoch)) for run in ("r1", "r2") for epoch in (1, 2, 3)
                           for series in ("losses/total", "kl/image", "valid/recall@5")],
                          columns=["run", "epoch", "series", "value"])
    fig = traces_figure(traces, ["losses/total", "kl/image", "valid/recall@5"], labels={"r1": "first"})
    assert len(fig.data) == 3 * 2 * 2
    assert sum(1 for t in fig.data if t.showlegend) == 2 and fig.data[1].name == "first"
    smoothed = fig.data[1].y
    assert smoothed[0] == 1.0 and 1.0 < smoothed[2] < 3.0
    assert len(traces_figure(traces, ["kl/image"], show_raw=False).data) == 2


def test_bar_figures():
    comparison = pd.DataFrame({"dataset": ["baby", "baby"], "backbone": ["vbpr", "mgcn"],
                               "variant": ["improvement %"] * 2, "recall@5": [10.0, float("nan")],
                               "recall@5 paper": [23.0, 6.6]})
    fig = improvement_figure(comparison, "recall@5")
    assert [t.name for t in fig.data] == ["measured", "paper"] and list(fig.data[1].y) == [23.0]
    assert list(fig.data[0].x) == ["vbpr · baby"]  # mgcn has no measured change yet: no slot for it
    cost = pd.DataFrame({"dataset": ["baby"], "backbone": ["vbpr"], "s/epoch baseline": [1.0],
                         "s/epoch +MRdIB": [1.2]})
    assert [t.type for t in cost_figure(cost).data] == ["bar", "bar"]


@pytest.mark.skipif(not Path("/usr/bin/chromium").exists(), reason="kaleido needs Chromium (Debian package chromium)")
def test_export_png_svg_pdf():
    fig = go.Figure(go.Scatter(x=[1, 2], y=[3, 4]))
    assert figure_bytes(fig, "png").startswith(b"\x89PNG")
    assert b"<svg" in figure_bytes(fig, "svg")[:200]
    assert figure_bytes(fig, "pdf").startswith(b"%PDF")
    with pytest.raises(ValueError, match="unknown export format"):
        figure_bytes(fig, "gif")
