"""Training traces: every loss term, the MINE bound, the KL per modality and valid metrics per epoch."""

import streamlit as st

from app.lib.downloads import figure_downloads, table_downloads
from app.lib.filters import run_labels
from app.lib.loaders import load_runs, load_traces, run_warnings
from app.lib.traces import default_runs, default_series, series_options
from app.lib.view import require_runs
from mrdib.figures.charts import traces_figure

REFRESH_SECONDS = 5

st.title("Training traces")
runs = load_runs()
readable = runs[runs["status"] != "corrupt"] if not runs.empty else runs
require_runs(readable)
labels = run_labels(readable)

with st.container(border=True):
    chosen = st.multiselect("Runs", list(readable["run_id"]), default=default_runs(readable),
                            format_func=labels.get, key="traces_runs")
    run_dirs = dict(zip(readable["run_id"], readable["run_dir"]))
    options = series_options(load_traces({run_id: run_dirs[run_id] for run_id in chosen}))
    first, second, third = st.columns([3, 1, 1])
    series = first.multiselect("Series", options, default=default_series(options), key="traces_series")
    smoothing = second.slider("Smoothing (EMA)", 0.0, 0.95, 0.6, 0.05, key="traces_smoothing")
    show_raw = third.toggle("Show raw", value=True, key="traces_raw")

training = bool(readable[readable["run_id"].isin(chosen)]["status"].eq("running").any())


@st.fragment(run_every=REFRESH_SECONDS if training else None)
def traces_panel() -> None:
    traces = load_traces({run_id: run_dirs[run_id] for run_id in chosen})
    if traces.empty:
        st.info("The chosen runs have no finished epoch yet.")
        return
    figure = traces_figure(traces, series, chosen, smoothing=smoothing, show_raw=show_raw, labels=labels)
    st.plotly_chart(figure, key="traces_chart")
    for run_id in chosen:
        for warning in run_warnings(run_dirs[run_id]):
            st.warning(f"{labels.get(run_id, run_id)}, epoch {warning['epoch']}: {warning['message']}")
    if training:
        st.caption(f"A chosen run is still training: refreshing every {REFRESH_SECONDS} s.")
    figure_downloads(figure, "training_traces", key="traces_download")
    with st.expander("Data"):
        st.dataframe(traces, hide_index=True, width="stretch", key="traces_table")
        table_downloads(traces, "training_traces", key="traces_table_download")


if chosen and series:
    traces_panel()
else:
    st.info("Pick one or more runs and series.")
