"""Sensitivity: a metric against each alpha with the other two fixed, error bars over seeds (Figure 4 a-c)."""

import streamlit as st

from app.lib.downloads import figure_downloads, table_downloads
from app.lib.loaders import load_runs
from app.lib.sensitivity import richest_grid
from app.lib.view import require_runs
from mrdib.figures.charts import sensitivity_figure
from mrdib.results.tables import (alphas_label, baseline_levels, finished_runs, metric_names, sensitivity_frame,
                                  sensitivity_reference)

st.title("Sensitivity")
runs = load_runs()
ours = finished_runs(runs)
ours = ours[ours["mrdib"].astype(bool)] if not ours.empty else ours
require_runs(ours, "finished +MRdIB runs")

with st.container(border=True):
    first, second, third, fourth = st.columns(4)
    # Opens on the backbone and data set with the richest grid: one point per panel draws no curve.
    richest = richest_grid(runs)
    datasets = sorted(ours["dataset"].unique())
    dataset = first.selectbox("Data set", datasets, key="sens_dataset",
                              index=datasets.index(richest[0]) if richest and richest[0] in datasets else 0)
    backbones = sorted(ours.loc[ours["dataset"] == dataset, "backbone"].unique())
    backbone = second.selectbox("Backbone", backbones, key="sens_backbone",
                                index=backbones.index(richest[1]) if richest and richest[0] == dataset
                                and richest[1] in backbones else 0)
    split = third.segmented_control("Split", ["test", "valid"], default="test", key="sens_split") or "test"
    more_k = fourth.toggle("Also @10 and @20", key="sens_more_k")
    subset = ours[(ours["dataset"] == dataset) & (ours["backbone"] == backbone)]
    settings = sorted({tuple(float(v) for v in row) for row in subset[["a1", "a2", "a3"]].itertuples(index=False)
                       if all(v > 0 for v in row)})
    if not settings:
        st.info(f"No {backbone} run on {dataset} has every alpha above zero yet.")
        st.stop()
    default = sensitivity_reference(runs, dataset, backbone)  # the grid's centre (the report's figure too)
    reference = st.selectbox("Hold the other alphas at", settings, format_func=alphas_label, key="sens_reference",
                             index=settings.index(default) if default in settings else 0)

ks = (5, 10, 20) if more_k else (5,)
metrics = metric_names(ks)
frame = sensitivity_frame(runs, dataset, backbone, ks, split=split, reference=reference)
if frame.empty:
    st.info("No +MRdIB runs that vary one alpha around this setting yet. A sweep like "
            "`python -m mrdib sweep` (or the demo runs) fills this page.")
    st.stop()

with st.container(border=True):
    metric_choice = st.multiselect("Metrics", metrics, default=metric_names((5,)), key="sens_metrics")
    shown = metric_choice or metrics
    baseline = baseline_levels(runs, dataset, backbone, shown, split)
    figure = sensitivity_figure(frame, shown, split=split, baseline=baseline,
                                title=f"{backbone} on {dataset}: {split} metrics against each alpha")
    st.plotly_chart(figure, key="sens_chart")
    single = [a for a in ("a1", "a2", "a3") if frame.loc[frame["alpha"] == a, "value"].nunique() == 1]
    st.caption(f"{backbone} on {dataset}, {split} metrics; each panel varies one alpha with the others at "
               f"{alphas_label(reference)}; error bars: std over seeds (none with one seed)"
               + ("; dashed: the chosen baseline's mean" if baseline else "; no baseline run to compare with")
               + (f". Only one value of {', '.join(single)} was run, so its panel has no curve." if single else "."))
    figure_downloads(figure, f"sensitivity_{dataset}_{backbone}_{split}_{'-'.join(shown)}", key="sens_download")

with st.expander("Data behind the curves"):
    st.dataframe(frame, hide_index=True, width="stretch", key="sens_table")
    table_downloads(frame, f"sensitivity_{dataset}_{backbone}_{split}", key="sens_table_download")
