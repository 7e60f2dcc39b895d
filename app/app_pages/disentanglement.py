"""Disentanglement: per-modality item representations projected to 2-D, baseline beside +MRdIB (Figure 4 d, h)."""

import streamlit as st

from app.lib import loaders
from app.lib.disentangle import (COLOR_CLUSTER, METHOD_LABELS, build_panels, color_options, comparable_runs,
                                 compute_missing, separation_summary)
from app.lib.downloads import figure_downloads
from app.lib.filters import run_labels
from app.lib.view import require_runs
from mrdib.analysis import projections
from mrdib.core.errors import MrdibError
from mrdib.figures.charts import projection_figure
from mrdib.results.tables import finished_runs

st.title("Disentanglement")
st.caption("z of every item per modality, stacked and projected together. The paper expects a baseline's "
           "modalities to overlap and +MRdIB to pull them apart (its Figure 4 d, h); the line under the chart says "
           "what the chosen runs show. Under each plot: the silhouette of the modality labels in that 2-D view "
           "(1 = apart, 0 = overlapping), and, in z itself, the share of each item's 10 nearest neighbours from "
           "another modality relative to random (1 = fully mixed, 0 = separated).")
runs = loaders.load_runs()
require_runs(finished_runs(runs), "finished runs")
done = finished_runs(runs)
labels = run_labels(done)

with st.container(border=True):
    first, second, third = st.columns(3)
    dataset = first.selectbox("Data set", sorted(done["dataset"].unique()), key="disent_dataset")
    backbone = second.selectbox("Backbone", sorted(done.loc[done["dataset"] == dataset, "backbone"].unique()),
                                key="disent_backbone")
    method = third.segmented_control("Projection", list(METHOD_LABELS), default="pca", key="disent_method",
                                     format_func=METHOD_LABELS.get) or "pca"
    baselines, ours = comparable_runs(runs, dataset, backbone)
    first, second, third = st.columns([2, 3, 1])  # run labels are long: the run pickers get the room
    base_id = first.selectbox("Baseline run", baselines["run_id"], format_func=labels.get, key="disent_base")
    ours_id = second.selectbox("+MRdIB run", ours["run_id"], format_func=labels.get, key="disent_ours")

selected = [(title, done.loc[done["run_id"] == run_id, "run_dir"].iloc[0])
            for title, run_id in (("baseline", base_id), ("+MRdIB", ours_id)) if run_id is not None]
if not selected:
    st.info(f"No finished {backbone} runs on {dataset} to compare.")
    st.stop()
for side, candidates in (("baseline", baselines), ("+MRdIB", ours)):
    if candidates.empty:
        st.info(f"No finished {side} {backbone} run on {dataset} yet: the other side is shown alone.")
color_option = third.selectbox("Colour", color_options(selected[0][1]), key="disent_color")

try:
    run_dirs = [run_dir for _, run_dir in selected]
    missing = projections.missing_projections(run_dirs, (method,)) if method in projections.SLOW_METHODS else []
    if missing:
        st.info(f"{METHOD_LABELS[method]} is not cached yet for {len(missing)} of these runs "
                "(about 20-40 s each on two cores; computed once, then stored beside the run).")
        if st.button(f"Compute {METHOD_LABELS[method]}", key="disent_compute", icon=":material/calculate:"):
            bar = st.progress(0.0, text="starting")
            compute_missing(run_dirs, (method,), lambda i, n, text: bar.progress(i / max(n, 1), text=text))
            st.rerun()
    panels = build_panels(selected, method, color_option)
except MrdibError as error:
    st.warning(str(error))
    st.stop()

if panels:
    with st.container(border=True):
        color_title = "cluster" if color_option == COLOR_CLUSTER else color_option.removeprefix("planted: ")
        figure = projection_figure(panels, color_title=color_title, categorical=color_option == COLOR_CLUSTER,
                                   method=METHOD_LABELS[method],
                                   title=f"{backbone} on {dataset}: item representations per modality, "
                                         f"{METHOD_LABELS[method]} view")
        st.plotly_chart(figure, key="disent_chart")
        run_dirs_by_title = dict(selected)
        scores = {panel.title: (loaders.view_silhouette(run_dirs_by_title[panel.title], method),
                                loaders.separation_scores(run_dirs_by_title[panel.title])["mixing"])
                  for panel in panels}
        summary = separation_summary(scores, METHOD_LABELS[method])
        if summary:
            st.markdown(summary)
        st.caption("Silhouette in z itself (not in a 2-D view): " + ", ".join(
            f"{title} {loaders.separation_scores(run_dirs_by_title[title])['silhouette']:.3f}" for title in scores)
            + ". Modalities in different subspaces around one centre score near 0 in z although their "
              "neighbourhoods do not mix.")
        figure_downloads(figure, f"disentanglement_{backbone}_{dataset}_{method}", key="disent_download")

with st.expander("Compute every missing t-SNE and UMAP projection"):
    all_dirs = list(done["run_dir"])
    pending = projections.missing_projections(all_dirs)
    st.write(f"{len(pending)} projections missing over {len(all_dirs)} finished runs.")
    if pending and st.button("Compute all", key="disent_compute_all"):
        bar = st.progress(0.0, text="starting")
        compute_missing(all_dirs, projections.SLOW_METHODS, lambda i, n, text: bar.progress(i / max(n, 1), text=text))
        st.rerun()
