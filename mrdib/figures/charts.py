"""Plotly figures of runs (projections, sensitivity curves, training traces, cost) and their export.

Every builder takes plain arrays or the frames of `mrdib.results.tables` and returns a `go.Figure`,
so the dashboard, the notebooks and the report draw the same pictures. No streamlit here.
"""

from __future__ import annotations

import threading
import warnings
from dataclasses import dataclass
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.colors import qualitative
from plotly.subplots import make_subplots

from mrdib.core.errors import MrdibError
from mrdib.core.names import ALPHA_NAMES as ALPHAS
from mrdib.core.names import IMPROVEMENT, MRDIB

TEMPLATE = "plotly_white"
PALETTE = qualitative.Plotly
MODALITY_SYMBOLS = ("circle", "x", "diamond", "triangle-up")
ALPHA_TITLES = {"a1": "α1 (KL compression)", "a2": "α2 (MINE redundancy)", "a3": "α3 (unique BPR)"}
EXPORT_FORMATS = {"png": "image/png", "svg": "image/svg+xml", "pdf": "application/pdf"}
# Above this many points per panel, WebGL keeps the browser responsive.
WEBGL_THRESHOLD = 5000


@dataclass
class ProjectionPanel:
    """One side of Figure 4: 2-D coordinates of stacked per-modality item representations."""

    title: str
    coords: np.ndarray  # [n_points, 2]
    modality: np.ndarray  # [n_points] modality name per point
    color: np.ndarray | None = None  # [n_points] optional value (planted factor, cluster id)
    caption: str = ""


def ema_smooth(values: Iterable[float], weight: float) -> np.ndarray:
    """Exponential moving average with start-up bias correction (the experiment trackers' smoothing):
    weight 0 returns the values, 0.9 averages over roughly the last ten."""
    values = np.asarray(list(values), dtype=float)
    if not 0 <= weight < 1:
        raise ValueError(f"smoothing weight must be in [0, 1), got {weight}")
    smoothed = np.empty_like(values)
    average, debias = 0.0, 0.0
    for index, value in enumerate(values):
        average = weight * average + (1 - weight) * value
        debias = weight * debias + (1 - weight)
        smoothed[index] = average / debias
    return smoothed


def projection_figure(panels: Sequence[ProjectionPanel], color_title: str = "", categorical: bool = False,
                      height: int = 480, method: str = "PCA", title: str = "") -> go.Figure:
    """Panels side by side; colour = modality, or symbol = modality and colour = `color` when given.
    Axes are named by the projection `method` (their units mean nothing, so they carry no ticks)."""
    fig = make_subplots(rows=1, cols=len(panels), subplot_titles=[p.title for p in panels],
                        horizontal_spacing=0.06)
    modalities = list(dict.fromkeys(m for p in panels for m in p.modality))
    colored = [p.color for p in panels if p.color is not None]
    low = float(min(np.nanmin(c) for c in colored)) if colored else 0.0
    high = float(max(np.nanmax(c) for c in colored)) if colored else 1.0
    colorscale = _discrete_colorscale(int(high) + 1) if categorical else "Viridis"
    for column, panel in enumerate(panels, start=1):
        trace_type = go.Scattergl if len(panel.coords) > WEBGL_THRESHOLD else go.Scatter
        for index, modality in enumerate(modalities):
            rows = panel.modality == modality
            if panel.color is None:
                marker = dict(size=4, opacity=0.6, color=PALETTE[index % len(PALETTE)])
            else:
                marker = dict(size=5, opacity=0.7, color=panel.color[rows], colorscale=colorscale, cmin=low,
                              cmax=high, symbol=MODALITY_SYMBOLS[index % len(MODALITY_SYMBOLS)],
                              showscale=column == 1 and index == 0,
                              colorbar=dict(title=dict(text=color_title, side="right"), len=0.75, y=0.5,
                                            yanchor="middle", x=1.0, xanchor="left", xpad=10, thickness=14))
            fig.add_trace(trace_type(x=panel.coords[rows, 0], y=panel.coords[rows, 1], mode="markers",
                                     name=modality, legendgroup=modality, showlegend=column == 1,
                                     marker=marker, hovertemplate=f"{modality}<extra></extra>"),
                          row=1, col=column)
        if panel.caption:
            axis = "x" if column == 1 else f"x{column}"
            # below the axis title ("PC 1"), not on it
            fig.add_annotation(text=panel.caption, xref=f"{axis} domain", yref="paper", x=0.5, y=-0.13,
                               yanchor="top", showarrow=False, font=dict(size=13))
    # A projection's coordinates have no units: the axes are named, without ticks.
    names = ("PC 1", "PC 2") if method.lower() == "pca" else (f"{method} 1", f"{method} 2")
    fig.update_xaxes(showticklabels=False, zeroline=False, showgrid=False, title_text=names[0], title_standoff=4)
    fig.update_yaxes(showticklabels=False, zeroline=False, showgrid=False, title_text=names[1], title_standoff=4)
    fig.update_layout(title=dict(text=title or f"Item representations per modality, {method} view", y=0.98))
    # The legend (symbol or colour = modality) sits above the panels, the colourbar right of them,
    # so neither covers the other, in the browser or an exported file.
    fig.update_layout(template=TEMPLATE, height=height, margin=dict(l=40, r=90 if colored else 20, t=110, b=110),
                      legend=dict(title="modality", itemsizing="constant", orientation="h", x=0.0, xanchor="left",
                                  y=1.1, yanchor="bottom"))
    return fig


def _discrete_colorscale(n: int) -> list[list]:
    """A stepped colorscale, so integer cluster ids get distinct flat colours."""
    n = max(n, 1)
    scale = []
    for index in range(n):
        color = PALETTE[index % len(PALETTE)]
        scale += [[index / n, color], [(index + 1) / n, color]]
    return scale


def span_text(values: Iterable[float], joiner: str = "-") -> str:
    """Whole counts (seeds, pairs) as captions give them: '5' when all are 5, '3-5' for a range, '' for none."""
    counts = sorted({int(v) for v in values if pd.notna(v)})
    if not counts:
        return ""
    return str(counts[0]) if len(counts) == 1 else f"{counts[0]}{joiner}{counts[-1]}"


def alpha_text(value: float) -> str:
    """An alpha as papers write it: 0.0001, 0.001, 0.05; 1e-5 below 0.0001 (never SI prefixes like 100µ)."""
    if value == 0:
        return "0"
    if abs(value) >= 1e-4:
        return f"{value:.6f}".rstrip("0").rstrip(".")
    mantissa, exponent = f"{value:.0e}".split("e")
    return f"{mantissa}e{int(exponent)}"


def sensitivity_figure(frame: pd.DataFrame, metrics: Iterable[str] | None = None, height: int = 380,
                       split: str = "test", baseline: dict[str, float] | None = None, title: str = "") -> go.Figure:
    """Figure 4 (a-c): one panel per alpha, metric against the alpha on a log axis, error bars = std
    over seeds, one curve per metric (from `mrdib.results.tables.sensitivity_frame`). Ticks sit at the alphas
    that were run, written as decimals and turned upright so close values (0.005, 0.01) stay legible,
    with room at both ends so labels of neighbouring panels do not meet. `baseline` ({metric: value})
    draws each metric's baseline as a dashed line in every panel; a panel with one alpha value says so."""
    metrics = list(metrics) if metrics is not None else list(dict.fromkeys(frame["metric"]))
    baseline = baseline or {}
    fig = make_subplots(rows=1, cols=len(ALPHAS), subplot_titles=[ALPHA_TITLES[a] for a in ALPHAS],
                        shared_yaxes=True, horizontal_spacing=0.06)
    for column, alpha in enumerate(ALPHAS, start=1):
        for index, metric in enumerate(metrics):
            line = frame[(frame["alpha"] == alpha) & (frame["metric"] == metric)].sort_values("value")
            fig.add_trace(go.Scatter(
                x=line["value"], y=line["mean"], mode="lines+markers", name=metric, legendgroup=metric,
                showlegend=column == 1, line=dict(color=PALETTE[index % len(PALETTE)]),
                error_y=dict(type="data", array=line["std"].fillna(0.0), visible=True),
                customdata=line["seeds"], hovertemplate=f"{metric}: %{{y:.4f}} ± %{{error_y.array:.4f}}"
                                                        f"<br>{alpha}=%{{x:g}}, %{{customdata}} seeds<extra></extra>"),
                row=1, col=column)
            if metric in baseline and np.isfinite(baseline[metric]):
                fig.add_hline(y=baseline[metric], line=dict(color=PALETTE[index % len(PALETTE)], dash="dash", width=1),
                              row=1, col=column)
        values = sorted(float(v) for v in frame.loc[frame["alpha"] == alpha, "value"].unique() if v > 0)
        if len(values) == 1:
            fig.add_annotation(text="one value run: no curve", showarrow=False, xref="x domain", yref="y domain",
                               x=0.5, y=0.05, font=dict(size=11, color="#666"), row=1, col=column)
        axis = dict(type="log", title_text=alpha)
        if values:
            low, high = np.log10(values[0]), np.log10(values[-1])
            pad = max(0.3, 0.12 * (high - low))
            # the paper's grid puts 0.005 and 0.01 a third of a decade apart: side by side their tick labels overlap
            axis.update(tickmode="array", tickvals=values, ticktext=[alpha_text(v) for v in values],
                        range=[low - pad, high + pad], tickangle=-90, automargin=True)
        fig.update_xaxes(**axis, row=1, col=column)
    fig.update_yaxes(title_text=f"{split} metric (mean ± std over seeds)", row=1, col=1)
    if baseline:
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name="baseline (dashed)",
                                 line=dict(color="#666", dash="dash", width=1)))
    fig.update_layout(template=TEMPLATE, height=height, margin=dict(l=60, r=20, t=80, b=50),
                      title=title or f"Sensitivity to each alpha ({split})")
    return fig


# What a logged series measures, for panel titles and y-axis titles (prefix match; the rest of the
# name, e.g. a modality or a modality pair, follows in the title).
SERIES_TITLES: tuple[tuple[str, str, str], ...] = (
    ("losses/total", "training objective", "loss"),
    ("losses/backbone", "backbone loss (synergy term)", "loss"),
    ("losses/kl", "KL to the prior, sum over modalities", "nats"),
    ("losses/mine", "MINE bound (training critic)", "nats"),
    ("losses/unique", "per-modality BPR (unique term)", "loss"),
    ("losses/redundancy_weight", "weight of the MINE term (a2 ramp)", "weight"),
    ("mine_bound/", "MINE bound (training critic)", "nats"),
    ("monitor/mi_samples/", "redundancy on posterior samples (Gaussian MI)", "nats"),
    ("monitor/log_var/", "mean posterior log-variance", "log-variance"),
    ("kl/", "KL to the prior", "nats"),
    ("unique/", "per-modality BPR (unique term)", "loss"),
    ("valid/", "validation", "metric"),
)


def series_title(name: str) -> tuple[str, str]:
    """(panel title, y-axis title) of a logged series such as `monitor/mi_samples/image~text`."""
    for prefix, title, unit in SERIES_TITLES:
        if name == prefix or (prefix.endswith("/") and name.startswith(prefix)):
            rest = name[len(prefix):]
            if prefix == "valid/":
                return f"validation {rest}", rest
            return (f"{title}: {rest}" if rest else title), unit
    return name, "value"


def traces_figure(traces: pd.DataFrame, series: Sequence[str], runs: Sequence[str] | None = None,
                  smoothing: float = 0.6, show_raw: bool = True, columns: int = 2,
                  labels: dict[str, str] | None = None) -> go.Figure:
    """One panel per series (loss term, MINE bound, KL, valid metric) against epoch, runs overlaid;
    raw values faint, exponential-moving-average smoothed values solid (from `tables.traces_frame`)."""
    runs = list(runs) if runs is not None else list(dict.fromkeys(traces["run"]))
    labels = labels or {}
    series = list(series)
    columns = max(1, min(columns, len(series)))
    rows = max(1, -(-len(series) // columns))
    titles = [series_title(name) for name in series]
    fig = make_subplots(rows=rows, cols=columns, subplot_titles=[t for t, _ in titles] or [""],
                        vertical_spacing=min(0.16, 0.7 / rows), horizontal_spacing=0.1)
    for panel, name in enumerate(series):
        row, column = panel // columns + 1, panel % columns + 1
        for index, run in enumerate(runs):
            points = traces[(traces["run"] == run) & (traces["series"] == name)].sort_values("epoch")
            if points.empty:
                continue
            color = PALETTE[index % len(PALETTE)]
            label = labels.get(run, run)
            if show_raw and smoothing > 0:
                fig.add_trace(go.Scatter(x=points["epoch"], y=points["value"], mode="lines", name=f"{label} (raw)",
                                         legendgroup=run, showlegend=False, opacity=0.3,
                                         line=dict(color=color, width=1)), row=row, col=column)
            fig.add_trace(go.Scatter(x=points["epoch"], y=ema_smooth(points["value"], smoothing), mode="lines",
                                     name=label, legendgroup=run, showlegend=panel == 0,
                                     line=dict(color=color, width=2)), row=row, col=column)
    last_epoch = traces["epoch"].max() if not traces.empty else 0
    fig.update_xaxes(dtick=1 if last_epoch <= 12 else None)
    for panel, (_, unit) in enumerate(titles):
        row, column = panel // columns + 1, panel % columns + 1
        fig.update_yaxes(title_text=unit, row=row, col=column)
        if panel + columns >= len(series):  # the lowest panel of its column
            fig.update_xaxes(title_text="epoch", row=row, col=column)
    for panel in range(len(series), rows * columns):  # a grid's empty last cells show no axes
        fig.update_xaxes(visible=False, row=panel // columns + 1, col=panel % columns + 1)
        fig.update_yaxes(visible=False, row=panel // columns + 1, col=panel % columns + 1)
    fig.update_layout(template=TEMPLATE, height=max(340, 300 * rows), margin=dict(l=60, r=20, t=60, b=40),
                      title="Training traces per epoch (faint: raw; solid: smoothed)" if smoothing > 0 and show_raw
                      else "Training traces per epoch",
                      legend=dict(orientation="h", yanchor="top", y=-0.25 / rows))
    return fig


def improvement_figure(comparison: pd.DataFrame, metric: str = "recall@5") -> go.Figure:
    """Improvement of +MRdIB over the baseline in percent per backbone and data set, measured beside reported."""
    rows = comparison[comparison["variant"] == IMPROVEMENT]
    rows = rows[rows[metric].notna()]  # a pair not compared yet: no slot with the paper's bar alone
    fig = go.Figure()
    labels = rows["backbone"].astype(str) + " · " + rows["dataset"].astype(str)
    values = [rows[metric]]
    # Optional: the paired p (column "p") and the 95% interval of the change ("ci low", "ci high", in %).
    texts = [f"{v:+.1f}%" + (f" (p={p:.2g})" if pd.notna(p) else "")
             for v, p in zip(rows[metric], rows["p"] if "p" in rows else [None] * len(rows))]
    interval = None
    if {"ci low", "ci high"} <= set(rows.columns):
        interval = {"type": "data", "symmetric": False, "array": rows["ci high"] - rows[metric],
                    "arrayminus": rows[metric] - rows["ci low"], "color": "#444", "thickness": 1.2, "width": 6}
        values += [rows["ci low"], rows["ci high"]]
        # A label at the bar's end would sit on its error bar: it goes under the axis.
        labels, texts = labels + "<br>" + pd.Series(texts, index=labels.index), None
    fig.add_trace(go.Bar(x=labels, y=rows[metric], name="measured", marker_color=PALETTE[0], error_y=interval,
                         text=texts, textposition="outside", cliponaxis=False))
    if f"{metric} paper" in rows:
        values.append(rows[f"{metric} paper"])
        fig.add_trace(go.Bar(x=labels, y=rows[f"{metric} paper"], name="paper", marker_color=PALETTE[1],
                             text=[f"{v:+.1f}%" if pd.notna(v) else "" for v in rows[f"{metric} paper"]],
                             textposition="outside", cliponaxis=False))
    finite = pd.concat(values).dropna()
    low, high = (float(min(finite.min(), 0)), float(max(finite.max(), 0))) if len(finite) else (0.0, 1.0)
    pad = 0.15 * (high - low or 1.0)  # room above and below the bars for their value labels
    fig.update_layout(template=TEMPLATE, barmode="group", height=380, margin=dict(l=60, r=20, t=60, b=50),
                      title=f"{MRDIB} against the baseline: change in {metric} (%)",
                      yaxis=dict(title=f"change in {metric} (%)", range=[low - pad, high + pad], zeroline=True),
                      xaxis_title="backbone · data set")
    return fig


def cost_figure(cost: pd.DataFrame) -> go.Figure:
    """Seconds per epoch without and with MRdIB per backbone (from `tables.cost_table`)."""
    labels = cost["backbone"].astype(str) + " · " + cost["dataset"].astype(str)
    fig = go.Figure([go.Bar(x=labels, y=cost["s/epoch baseline"], name="baseline", marker_color=PALETTE[0]),
                     go.Bar(x=labels, y=cost["s/epoch +MRdIB"], name=MRDIB, marker_color=PALETTE[1])])
    fig.update_layout(template=TEMPLATE, barmode="group", height=360, yaxis_title="training seconds per epoch",
                      xaxis_title="backbone · data set", title="Training cost per epoch, without and with MRdIB",
                      margin=dict(l=60, r=20, t=60, b=50))
    return fig


_EXPORT_LOCK = threading.Lock()
_export_server_started = False


def figure_bytes(fig: go.Figure, fmt: str, width: int | None = None, height: int | None = None,
                 scale: float = 2.0) -> bytes:
    """PNG, SVG or PDF of a figure through kaleido (needs Chrome/Chromium on the machine).

    One kaleido browser is kept running and shared, so exports after the first take well under a
    second; the lock keeps concurrent callers (download buttons run on threads) from mixing results.
    """
    global _export_server_started
    if fmt not in EXPORT_FORMATS:
        raise ValueError(f"unknown export format '{fmt}' (known: {', '.join(EXPORT_FORMATS)})")
    import kaleido

    with _EXPORT_LOCK:
        if not _export_server_started and hasattr(kaleido, "start_sync_server"):  # kaleido >= 1.0
            kaleido.start_sync_server(silence_warnings=True)
            _export_server_started = True
        try:
            with warnings.catch_warnings():  # plotly passes browser options the shared server ignores
                warnings.filterwarnings("ignore", message="The kopts argument is ignored")
                return fig.to_image(format=fmt, width=width or fig.layout.width or 1000,
                                    height=height or fig.layout.height or 500, scale=scale if fmt == "png" else 1)
        except Exception as exc:  # kaleido reports a missing browser in several ways
            first_line = str(exc).splitlines()[0] if str(exc) else ""
            raise MrdibError(f"{fmt.upper()} export failed ({type(exc).__name__}: {first_line}); "
                             "kaleido needs Chrome or Chromium: install the `chromium` package") from exc


NOTEBOOK_RENDERER = "mrdib_notebook"


def use_notebook_images(width: int = 900) -> str:
    """Make figures shown in a notebook carry a static PNG beside plotly's JSON: GitHub, nbviewer and
    other static viewers cannot run plotly.js and show the JSON as nothing. The PNG comes from kaleido
    (needs Chromium); without it the figure carries a one-line note saying so instead. Returns the
    renderer's name (now plotly's default)."""
    import base64

    import plotly.io as pio
    from plotly.io._base_renderers import PlotlyRenderer

    class JsonAndImageRenderer(PlotlyRenderer):
        def to_mimebundle(self, fig_dict):
            bundle = super().to_mimebundle(fig_dict)
            figure = go.Figure(fig_dict)
            try:
                png = figure_bytes(figure, "png", width=figure.layout.width or width, scale=1)
            except (MrdibError, ImportError) as error:
                bundle["text/plain"] = f"(interactive plotly figure; no static image: {error})"
            else:
                bundle["image/png"] = base64.b64encode(png).decode()
            return bundle

    pio.renderers[NOTEBOOK_RENDERER] = JsonAndImageRenderer()
    pio.renderers.default = NOTEBOOK_RENDERER
    return NOTEBOOK_RENDERER


PID_PARTS = (("unique_a", "unique to {a}"), ("unique_b", "unique to {b}"), ("redundant", "redundant"),
             ("synergistic", "synergistic"))


def pid_figure(frame: pd.DataFrame, title: str = "") -> go.Figure:
    """Stacked bars of the PID of what two modalities say about interaction, one bar per run
    (`frame`: one row per run with `label`, `modality_a`, `modality_b` and the four parts in bits)."""
    fig = go.Figure()
    if frame.empty:
        return fig
    a, b = frame["modality_a"].iloc[0], frame["modality_b"].iloc[0]
    widest = float(frame[[part for part, _ in PID_PARTS]].sum(axis=1).max()) or 1.0
    for index, (part, name) in enumerate(PID_PARTS):
        values = frame[part].astype(float)
        fig.add_trace(go.Bar(
            y=frame["label"], x=values, orientation="h", name=name.format(a=a, b=b),
            marker_color=PALETTE[index % len(PALETTE)],
            # a value inside its segment only where the segment is wide enough to hold it
            text=[f"{v:.3f}" if v >= 0.08 * widest else "" for v in values],
            textposition="inside", insidetextanchor="middle",
            hovertemplate="%{y}<br>" + name.format(a=a, b=b) + ": %{x:.4f} bits<extra></extra>"))
    fig.update_layout(
        template=TEMPLATE, barmode="stack", height=190 + 45 * len(frame),
        title=dict(text=title or f"Information about interaction from {a} and {b}, decomposed", y=0.97),
        xaxis_title="information about interaction (bits)", yaxis_title="run",
        legend=dict(orientation="h", yanchor="bottom", y=1.0, x=0, traceorder="normal"),
        margin=dict(l=60, r=20, t=80, b=50))
    fig.update_yaxes(autorange="reversed", automargin=True)
    return fig


def sensitivity_plot(frame: pd.DataFrame, dataset: str, backbone: str, metric: str = "recall@5") -> go.Figure:
    """The dashboard's sensitivity figure (`mrdib.figures.charts.sensitivity_figure`): one panel per alpha on a
    log axis, a valid and a test curve with std error bars, the value validation chose starred, and
    the tuned baseline's valid and test levels as dashed lines."""
    rows = frame[(frame.dataset == dataset) & (frame.backbone == backbone) & (frame.metric == metric)]
    baseline, rows = rows[rows.alpha == "baseline"], rows[rows.alpha != "baseline"]
    curves = rows.assign(metric=rows.split + " " + rows.metric, seeds=rows.n)
    figure = sensitivity_figure(curves[["alpha", "value", "metric", "mean", "std", "seeds"]],
                                metrics=[f"valid {metric}", f"test {metric}"])
    first = True
    for column, alpha in enumerate(ALPHAS, start=1):
        chosen = rows[(rows.alpha == alpha) & (rows.split == "valid") & rows.chosen.astype(bool)]
        if len(chosen):
            figure.add_trace(go.Scatter(x=chosen.value, y=chosen["mean"], mode="markers", name="chosen on valid",
                                        legendgroup="chosen", showlegend=first,
                                        marker={"symbol": "star", "size": 14, "color": "black"}), row=1, col=column)
            first = False
    # The tuned baseline, on the seeds the curves used. Its valid and test levels are often a few
    # thousandths apart, so their labels go to opposite ends of the line to stay readable.
    label_side = {"valid": "top left", "test": "top right"}
    for level in baseline.itertuples(index=False):
        figure.add_hline(y=level.mean, row="all", col="all", line={"dash": "dash", "width": 1, "color": "grey"},
                         annotation_text=f"baseline {level.split}",
                         annotation_position=label_side[level.split],
                         annotation_font={"size": 11, "color": "grey"})
    figure.update_yaxes(title_text=metric, row=1, col=1)
    seeds = span_text(rows.n)
    seeds_text = f"{seeds} seed{'s' if seeds != '1' else ''}" if seeds else ""
    note = "; ".join(["each panel varies one alpha, the others at the grid's centre"]
                     + ([f"{seeds_text} a point"] if seeds_text else []))
    figure.update_layout(title={"text": f"{backbone} on {dataset}: sensitivity of {metric}<br><sup>{note}</sup>"},
                         width=1000, height=440, margin={"t": 100})
    return figure


def improvement_plot(table: pd.DataFrame, metric: str = "recall@5") -> go.Figure:
    """The dashboard's improvement bars (`mrdib.figures.charts.improvement_figure`) from Table 1, measured
    beside the paper's reported improvement where the paper has the pair."""
    rows = table[(table.metric == metric) & table.improvement_pct.notna()]  # pairs not compared yet: no bar
    comparison = pd.DataFrame({"dataset": rows.dataset, "backbone": rows.backbone, "variant": IMPROVEMENT,
                               metric: rows.improvement_pct, "p": rows.p_value})
    if {"difference_ci_low", "difference_ci_high"} <= set(rows.columns):
        comparison["ci low"] = 100 * rows.difference_ci_low / rows.baseline_mean
        comparison["ci high"] = 100 * rows.difference_ci_high / rows.baseline_mean
    if rows.paper_improvement_pct.notna().any():
        comparison[f"{metric} paper"] = rows.paper_improvement_pct
    figure = improvement_figure(comparison, metric)
    seeds = span_text(rows.n_pairs) if "n_pairs" in rows else ""
    seeds_text = f", n = {seeds} seeds" if seeds else ""
    figure.update_layout(title={"text": f"test {metric}: +MRdIB vs baseline (alphas chosen on validation)<br><sup>"
                                        f"measured: mean change, 95% interval of the paired difference and paired-t p"
                                        f"{seeds_text}</sup>"}, width=800, margin={"t": 80})
    return figure
