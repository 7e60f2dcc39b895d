"""PID: how what two modalities' representations say about interaction splits into unique,
redundant and synergistic parts, baseline beside +MRdIB (docs/pid.md)."""

import streamlit as st

from app.lib.downloads import figure_downloads, table_downloads
from app.lib.loaders import load_runs
from app.lib.pid import (alpha_options, comparison_rows, export_name, interval_table, pid_caption, pid_rows,
                         with_labels)
from app.lib.view import require_runs, stop_until_filled
from mrdib.figures.charts import pid_figure
from mrdib.results.tables import finished_runs

st.title("Information decomposition (PID)")
runs = finished_runs(load_runs())
require_runs(runs, "finished runs")
rows = pid_rows(runs)
if rows.empty:
    stop_until_filled("The demo building in the background measures the PID of its first pair after its first runs",
                      "No run has a PID yet: `python -m mrdib analyze RUN` adds it to a run's analysis.json "
                      "(docs/pid.md says what it measures).")

with st.container(border=True):
    left, middle, right, last = st.columns(4)
    dataset = left.selectbox("Data set", sorted(rows.dataset.unique()), key="pid_dataset")
    mine = rows[rows.dataset == dataset]
    backbone = middle.selectbox("Backbone", sorted(mine.backbone.unique()), key="pid_backbone")
    mine = mine[mine.backbone == backbone]
    pairs = sorted((mine.modality_a + "~" + mine.modality_b).unique())
    pair = right.selectbox("Modality pair", pairs, key="pid_pair")
    mine = mine[(mine.modality_a + "~" + mine.modality_b) == pair]
    options = alpha_options(mine)
    alphas = last.selectbox("+MRdIB alphas", options, key="pid_alphas", disabled=not options,
                            help="Runs at different alphas are not averaged: pick the setting to set beside the "
                                 "baseline (first: the one with most runs)")
    chosen = with_labels(comparison_rows(mine, alphas))
    figure = pid_figure(chosen, title=f"{backbone} on {dataset}: information about interaction, decomposed")
    st.plotly_chart(figure, key="pid_chart")
    st.markdown(pid_caption(chosen))
    export = export_name(dataset, backbone, pair, alphas)
    figure_downloads(figure, export, key="pid_chart_download")

st.subheader("Values with 95% bootstrap intervals")
st.caption("Basic bootstrap over the held-out pairs: the interval is centred on the bias-corrected value, so a "
           "plug-in value can sit at or past its edge when the bias is large against the sample (docs/pid.md).")
table = interval_table(chosen)
st.dataframe(table, hide_index=True, width="stretch", key="pid_table")
table_downloads(table, export, key="pid_table_download")
