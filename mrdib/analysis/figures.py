"""Plotly figures of analyses (analysis.json dicts), several runs side by side.

Each builder takes {label: analysis} and returns a `go.Figure`, so notebooks, the dashboard
and reports draw the same pictures.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mrdib.plots import PALETTE, TEMPLATE

Analyses = dict[str, dict[str, Any]]
SUMMARY_LABELS = {"unique_kept": "own unique factor", "noise_recoverable": "own noise",
                  "redundant_duplication": "redundant (min over modalities)"}


def redundancy_figure(analyses: Analyses) -> go.Figure:
    """MINE estimate of I(z_a; z_b) (error bars: std over restarts) and linear CKA per modality pair."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["MINE I(z_a; z_b), held-out (nats)", "linear CKA"])
    for index, (label, analysis) in enumerate(analyses.items()):
        pairs = list(analysis["redundancy"])
        color = PALETTE[index % len(PALETTE)]
        mine = [analysis["redundancy"][p]["mine"] or {} for p in pairs]
        fig.add_trace(go.Bar(x=pairs, y=[m.get("mean", np.nan) for m in mine], name=label, legendgroup=label,
                             marker_color=color,
                             error_y=dict(type="data", array=[m.get("std", 0.0) for m in mine], visible=True)),
                      row=1, col=1)
        fig.add_trace(go.Bar(x=pairs, y=[analysis["redundancy"][p]["cka"] for p in pairs], name=label,
                             legendgroup=label, showlegend=False, marker_color=color), row=1, col=2)
    fig.update_layout(template=TEMPLATE, barmode="group", height=360, margin=dict(l=50, r=20, t=50, b=40))
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
    fig.update_layout(template=TEMPLATE, barmode="group", height=360, margin=dict(l=50, r=20, t=30, b=40))
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
        fig.update_yaxes(autorange="reversed", row=1, col=column)
    fig.update_layout(template=TEMPLATE, height=340, margin=dict(l=60, r=20, t=50, b=80))
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
    fig.update_layout(template=TEMPLATE, barmode="group", height=360, yaxis_title="held-out R²",
                      yaxis_range=[lowest, 1.0], margin=dict(l=50, r=20, t=30, b=40))
    return fig


def compression_figure(analyses: Analyses) -> go.Figure:
    """KL per latent dimension, largest first, per modality of each +MRdIB run (the active-units plot)."""
    fig = go.Figure()
    for index, (label, analysis) in enumerate(analyses.items()):
        for offset, (modality, stats) in enumerate((analysis.get("compression") or {}).items()):
            kl = np.sort(np.asarray(stats["kl_per_dim"]))[::-1]
            fig.add_trace(go.Scatter(x=np.arange(1, len(kl) + 1), y=kl, mode="lines+markers",
                                     name=f"{label}: {modality} ({stats['active_dims']} active)",
                                     line=dict(color=PALETTE[(index * 2 + offset) % len(PALETTE)])))
    fig.update_layout(template=TEMPLATE, height=340, xaxis_title="latent dimension (sorted by KL)",
                      yaxis_title="mean KL per item (nats)", margin=dict(l=50, r=20, t=30, b=40))
    return fig
