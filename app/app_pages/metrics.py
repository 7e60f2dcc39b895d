"""Metrics table: baseline vs +MRdIB per backbone and data set, mean ± std over seeds, beside the paper."""

import streamlit as st

from app.lib.downloads import figure_downloads, table_downloads
from app.lib.loaders import load_runs
from app.lib.view import require_runs, styled
from mrdib.figures.charts import improvement_figure
from mrdib.results.tables import (best_mask, capped_choices, comparison_table, finished_runs, format_table,
                                  metric_names, selections)

st.title("Metrics table")
runs = load_runs()
require_runs(finished_runs(runs), "finished runs")

with st.container(border=True):
    first, second, third = st.columns(3)
    more_k = first.toggle("Also @10 and @20", key="metrics_more_k")
    split = second.segmented_control("Split", ["test", "valid"], default="test", key="metrics_split") or "test"
    datasets = third.multiselect("Data set", sorted(runs["dataset"].unique()), key="metrics_dataset")

ks = (5, 10, 20) if more_k else (5,)
metrics = metric_names(ks)
table = comparison_table(runs, ks, split=split)
if datasets:
    table = table[table["dataset"].isin(datasets)].reset_index(drop=True)

bold = best_mask(table, metrics)
display = format_table(table, metrics)
has_paper = any(column.endswith(" paper") for column in table.columns)
st.caption(f"{split} metrics at the best validation epoch; mean ± std over seeds (seeds = how many); "
           + ("`paper` columns are the paper's reported numbers for the same backbone and data set (– where it "
              "reports none); " if has_paper else "the paper reports none of these data sets, so there are no "
              "paper columns; ")
           + "bold = best of the baseline/+MRdIB pair.")
st.dataframe(styled(display, bold), hide_index=True, width="stretch", key="metrics_table",
             column_config={"alphas": st.column_config.TextColumn(width=175),
                            "variant": st.column_config.TextColumn(width=100),
                            "seeds": st.column_config.TextColumn(width=50)})
capped = capped_choices(runs)
if capped:
    st.warning("Not converged: early stopping never fired for " + "; ".join(capped) + ". More epochs might "
               "change these numbers, and the comparison may only show which side learns faster; raise the cap "
               "(`--epochs`) before reporting it.", icon=":material/warning:")
candidates = {pair: (len({g.key for g in s.candidates}), s) for pair, s in selections(runs).items()}
st.caption("Per backbone and data set, the baseline and the +MRdIB configuration with the best mean validation "
           "recall@5 on the seeds the candidates share, as `mrdib report` chooses; test never chooses. "
           + "; ".join(f"{backbone} on {dataset}: {n} +MRdIB configuration{'s' if n != 1 else ''} compared"
                       for (dataset, backbone), (n, _) in sorted(candidates.items())) + ".")
table_downloads(table, f"metrics_{split}", key="metrics_download", latex_table=display,
                bold=bold.reindex(columns=display.columns, fill_value=False),
                caption=f"Top-k {split} metrics, baseline vs +MRdIB (mean ± std over seeds).")

with st.container(border=True):
    metric = st.selectbox("Improvement in", metrics, key="metrics_improvement_metric")
    figure = improvement_figure(table, metric)
    st.plotly_chart(figure, key="metrics_improvement_chart")
    figure_downloads(figure, f"improvement_{metric.replace('@', '_at_')}", key="metrics_improvement_download")
