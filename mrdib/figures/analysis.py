"""Plotly figures of analyses (analysis.json dicts), several runs side by side.

Each builder takes {label: analysis} and returns a `go.Figure`, so notebooks, the dashboard
and reports draw the same pictures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mrdib.figures.charts import PALETTE, TEMPLATE

Analyses = dict[str, dict[str, Any]]
SUMMARY_LABELS = {"unique_kept": "own unique factor", "noise_recoverable": "own noise",
                  "redundant_duplication": "redundant (min over modalities)"}


def redundancy_figure(analyses: Analyses, view: str = "samples") -> go.Figure:
    """Per modality pair, on posterior samples (or `view="means"`): held-out Gaussian (CCA) MI,
    early-stopped MINE beside its shuffled-pair control (error bars: std over folds/restarts), and
    linear CKA. A baseline's samples are its means."""
    from mrdib.analysis.summaries import redundancy_views

    # Short panel titles (three side by side print over each other when long); units on the y axes.
    fig = make_subplots(rows=1, cols=3, subplot_titles=["Gaussian MI (held-out)", "MINE (hatched: shuffled)",
                                                        "linear CKA"], horizontal_spacing=0.09)
    for index, (label, analysis) in enumerate(analyses.items()):
        views = redundancy_views(analysis)
        entries = views.get(view) or views.get("means") or {}
        pairs = list(entries)
        color = PALETTE[index % len(PALETTE)]

        def bar(values: list[dict], col: int, name: str, show: bool, pattern: str = "") -> None:
            fig.add_trace(go.Bar(x=pairs, y=[v.get("mean", np.nan) for v in values], name=name, legendgroup=label,
                                 showlegend=show, marker_color=color, marker_pattern_shape=pattern,
                                 error_y=dict(type="data", array=[v.get("std", 0.0) for v in values], visible=True)),
                          row=1, col=col)

        bar([entries[p].get("gaussian_mi") or {} for p in pairs], 1, label, True)
        bar([entries[p].get("mine") or {} for p in pairs], 2, label, False)
        bar([(entries[p].get("mine") or {}).get("shuffled") or {} for p in pairs], 2, f"{label} (shuffled)", False,
            "/")
        fig.add_trace(go.Bar(x=pairs, y=[entries[p]["cka"] for p in pairs], name=label,
                             legendgroup=label, showlegend=False, marker_color=color), row=1, col=3)
    for column, unit in enumerate(("nats", "nats", "CKA (0-1)"), start=1):
        fig.update_yaxes(title_text=unit, row=1, col=column)
        fig.update_xaxes(title_text="modality pair", row=1, col=column)
    fig.update_layout(template=TEMPLATE, barmode="group", height=400, margin=dict(l=60, r=20, t=90, b=50),
                      title=f"Redundancy between modalities, on the {view}")
    return fig


def ranking_figure(analyses: Analyses, metric: str | None = None) -> go.Figure:
    """Valid ranking quality from each modality alone and from the fused representation."""
    fig = go.Figure()
    for index, (label, analysis) in enumerate(analyses.items()):
        ranking = analysis["ranking"]
        key = metric or f"recall@{ranking['k']}"
        names = [f"{m} alone" for m in ranking["modalities"]] + ["fused (run's score)", "fused (ridge probe)"]
        values = [v[key] for v in ranking["modalities"].values()] + [ranking["fused"][key],
                                                                      ranking["fused_probe"][key]]
        fig.add_trace(go.Bar(x=names, y=values, name=label, marker_color=PALETTE[index % len(PALETTE)]))
        fig.update_layout(yaxis_title=f"valid {key}")
    fig.update_layout(template=TEMPLATE, barmode="group", height=380, margin=dict(l=60, r=20, t=60, b=50),
                      title="Ranking from each modality alone and fused", xaxis_title="representation")
    return fig


def probe_heatmap_figure(analyses: Analyses, sampled: bool = True) -> go.Figure:
    """Held-out R^2 of a linear probe for every planted factor (columns) from every representation
    (rows), one panel per run; `sampled` uses the posterior sample (a baseline's is its mean)."""
    key = "r2_sampled" if sampled else "r2"
    fig = make_subplots(rows=1, cols=len(analyses), subplot_titles=list(analyses), horizontal_spacing=0.08)
    for column, analysis in enumerate(analyses.values(), start=1):
        r2 = (analysis.get("probes") or {}).get(key) or {}
        representations = list(r2)
        factors = list(dict.fromkeys(f for row in r2.values() for f in row))
        values = np.array([[r2[rep].get(f, np.nan) for f in factors] for rep in representations])
        fig.add_trace(go.Heatmap(z=values, x=factors, y=representations, zmin=0.0, zmax=1.0, colorscale="Viridis",
                                 text=np.round(values, 2), texttemplate="%{text}", showscale=column == 1,
                                 colorbar=dict(title="R²")), row=1, col=column)
        fig.update_yaxes(autorange="reversed", title_text="representation" if column == 1 else None, row=1, col=column)
        fig.update_xaxes(title_text="planted factor", row=1, col=column)
    fig.update_layout(template=TEMPLATE, height=380, margin=dict(l=70, r=20, t=90, b=90),
                      title="Planted factors recovered by a linear probe "
                            f"(held-out R²; {'sample' if sampled else 'means'})")
    return fig


def probe_summary_figure(analyses: Analyses, sampled: bool = True) -> go.Figure:
    """The expected picture in three bars per run: own unique factor kept, own noise recoverable,
    redundant factor held by every modality."""
    key = "summary_sampled" if sampled else "summary"
    fig = go.Figure()
    lowest = 0.0
    for index, (label, analysis) in enumerate(analyses.items()):
        summary = (analysis.get("probes") or {}).get(key) or {}
        values = [summary.get(k, np.nan) for k in SUMMARY_LABELS]
        lowest = min([lowest] + [v for v in values if np.isfinite(v)])
        fig.add_trace(go.Bar(x=list(SUMMARY_LABELS.values()), y=values, name=label,
                             marker_color=PALETTE[index % len(PALETTE)]))
    fig.update_layout(template=TEMPLATE, barmode="group", height=380, yaxis_title="held-out R²",
                      yaxis_range=[lowest, 1.0], margin=dict(l=60, r=20, t=60, b=50), xaxis_title="planted factor",
                      title=f"What each modality keeps of the planted factors ({'sample' if sampled else 'means'})")
    return fig


def compression_figure(analyses: Analyses) -> go.Figure:
    """Channel information per latent dimension, largest first, per modality of each +MRdIB run:
    how many dimensions pass information through the bottleneck, and how much."""
    fig = go.Figure()
    for index, (label, analysis) in enumerate(analyses.items()):
        for offset, (modality, stats) in enumerate((analysis.get("compression") or {}).items()):
            per_dim = stats.get("channel_information_per_dim", stats["kl_per_dim"])
            values = np.sort(np.asarray(per_dim))[::-1]
            detail = (f"{stats['channel_information']:.2f} nats, {stats['informative_dims']} dims > 0.1"
                      if "channel_information" in stats else "KL per dim")
            fig.add_trace(go.Scatter(x=np.arange(1, len(values) + 1), y=values, mode="lines+markers",
                                     name=f"{label}: {modality} ({detail})",
                                     line=dict(color=PALETTE[(index * 2 + offset) % len(PALETTE)])))
    fig.update_layout(template=TEMPLATE, height=380, xaxis_title="latent dimension (sorted)",
                      yaxis_title="0.5 log(1 + Var(μ)/E[σ²]) (nats)", margin=dict(l=60, r=20, t=60, b=50),
                      title="Information through the bottleneck per dimension")
    return fig
