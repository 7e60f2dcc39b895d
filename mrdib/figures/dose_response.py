"""The dose-response figure: per term (columns) its targets and accuracy (rows) against alpha.

Alpha runs over decades and includes 0, so the x axis is log10(alpha) with 0 drawn one decade
below the smallest positive value and labelled "0".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from mrdib.analysis.targets import TARGETS, TERM_TITLES, TERMS
from mrdib.figures.charts import PALETTE, TEMPLATE


def alpha_positions(values: list[float] | np.ndarray) -> tuple[np.ndarray, list[float], list[str]]:
    """(x positions, tick positions, tick labels) for alphas on a log axis that shows 0."""
    values = np.asarray(values, dtype=float)
    positive = values[values > 0]
    floor = np.log10(positive.min()) - 1.0 if positive.size else 0.0
    x = np.where(values > 0, np.log10(np.where(values > 0, values, 1.0)), floor)
    ticks = sorted(set(x.tolist()))
    labels = ["0" if t == floor and (values == 0).any() else f"{10 ** t:g}" for t in ticks]
    return x, ticks, labels


def dose_response_figure(summary: pd.DataFrame, k: int = 5, terms: list[str] | None = None) -> go.Figure:
    """One column per term: row 1 its primary targets, row 2 its other targets, row 3 valid and
    test recall@k; markers are means over seeds, error bars their std."""
    terms = [t for t in (terms or TERMS) if (summary["term"] == t).any()]
    fig = make_subplots(rows=3, cols=max(1, len(terms)), shared_xaxes="columns", vertical_spacing=0.08,
                        horizontal_spacing=0.07, subplot_titles=[TERM_TITLES[t] for t in terms])
    for column, term in enumerate(terms, start=1):
        part = summary[summary["term"] == term].sort_values("value")
        x, ticks, labels = alpha_positions(part["value"].to_numpy())
        targets = TARGETS[term]
        groups = ([t for t in targets if t.primary], [t for t in targets if not t.primary],
                  [(f"valid_recall@{k}", f"valid recall@{k}"), (f"test_recall@{k}", f"test recall@{k}")])
        for row, group in enumerate(groups, start=1):
            for index, item in enumerate(group):
                name, label = (item.column, item.label) if hasattr(item, "column") else item
                if name not in part or part[name].isna().all():
                    continue
                std = part.get(f"{name}_std")
                fig.add_trace(go.Scatter(
                    x=x, y=part[name], mode="lines+markers", name=label, legendgroup=f"{term}-{name}",
                    line=dict(color=PALETTE[(index + 3 * (row - 1)) % len(PALETTE)]),
                    error_y=dict(type="data", array=std.fillna(0.0) if std is not None else None, visible=True),
                    hovertemplate=f"{term}=%{{customdata}}<br>{label}: %{{y:.4f}}<extra></extra>",
                    customdata=part["value"]), row=row, col=column)
        for row in (1, 2, 3):
            fig.update_xaxes(tickvals=ticks, ticktext=labels, row=row, col=column)
        fig.update_xaxes(title_text=term, row=3, col=column)
    fig.update_yaxes(title_text="target", row=1, col=1)
    fig.update_yaxes(title_text="other targets", row=2, col=1)
    fig.update_yaxes(title_text="accuracy", row=3, col=1)
    fig.update_layout(template=TEMPLATE, height=760, margin=dict(l=60, r=20, t=90, b=50),
                      title="Dose-response: each term's weight against its target and accuracy "
                            "(mean ± std over seeds)",
                      legend=dict(orientation="h", y=-0.12))
    return fig
