"""Ablations and cost: the paper's Table 2 (each alpha off) and Table 3 (seconds per epoch) from the runs."""

import streamlit as st

from app.lib.downloads import figure_downloads, table_downloads
from app.lib.loaders import load_runs
from app.lib.view import require_runs, styled
from mrdib.figures.charts import cost_figure
from mrdib.results.tables import (ABLATION_VARIANTS, ablation_table, best_mask, cost_table, finished_runs, format_numbers,
                          format_table, metric_names)

st.title("Ablations and cost")
runs = load_runs()
require_runs(finished_runs(runs), "finished runs")

split = st.segmented_control("Split", ["test", "valid"], default="test", key="ablation_split") or "test"
metrics = metric_names((5,))

st.subheader("Each alpha switched off (Table 2)")
st.caption("Variants relative to each backbone's chosen +MRdIB configuration (best mean validation recall@5, "
           "as `mrdib report` chooses): " + ", ".join(f"`{name}`" for name in ABLATION_VARIANTS)
           + ". A variant not run at the chosen alphas shows its best run on validation (see its alphas). Rows "
             "appear when runs exist for them or the paper reports them; bold = best per backbone and data set. "
             "Train a variant with e.g. `--mrdib --a1 0`.")
ablation = ablation_table(runs, split=split)
ablation_bold = best_mask(ablation, metrics)
ablation_display = format_table(ablation, metrics)
st.dataframe(styled(ablation_display, ablation_bold), hide_index=True, width="stretch", key="ablation_table")
table_downloads(ablation, f"ablation_{split}", key="ablation_download", latex_table=ablation_display,
                bold=ablation_bold.reindex(columns=ablation_display.columns, fill_value=False),
                caption="Ablation of the MRdIB terms (mean ± std over seeds).")

st.subheader("Training cost (Table 3)")
st.caption("Mean training seconds per epoch of the chosen baseline and +MRdIB configurations. Measured on this "
           "machine, the paper's on an unstated GPU: compare the overhead, not the seconds. Timings on a shared "
           "CPU are noisy.")
cost = cost_table(runs)
cost_display = format_numbers(cost)
st.dataframe(cost_display, hide_index=True, width="stretch", key="ablation_cost_table")
table_downloads(cost, "training_cost", key="ablation_cost_download", latex_table=cost_display,
                caption="Training seconds per epoch without and with MRdIB.")
with st.container(border=True):
    figure = cost_figure(cost)
    st.plotly_chart(figure, key="ablation_cost_chart")
    figure_downloads(figure, "training_cost", key="ablation_cost_chart_download")
