"""Runs: every run folder, filterable; runs still training show their epoch and refresh themselves."""

import json

import streamlit as st

from app.lib.downloads import table_downloads
from app.lib.filters import alpha_values, filter_runs, runs_table, setting_names, split_constant_columns
from app.lib.loaders import load_record, load_runs, setting_configs
from app.lib.view import require_runs, warn_corrupt

REFRESH_SECONDS = 5

st.title("Runs")
runs = load_runs()
require_runs(runs)

with st.container(border=True):
    first, second, third, fourth = st.columns(4)
    datasets = first.multiselect("Data set", sorted(runs["dataset"].unique()), key="runs_dataset")
    backbones = second.multiselect("Backbone", sorted(runs["backbone"].unique()), key="runs_backbone")
    known = ["running", "done", "failed", "corrupt"]
    statuses = third.multiselect("Status", known + sorted(set(runs["status"]) - set(known)), key="runs_status")
    mrdib = fourth.segmented_control("MRdIB", ["all", "on", "off"], default="all", key="runs_mrdib")
    first, second, third, fourth = st.columns(4)
    seeds = first.multiselect("Seed", sorted(int(s) for s in runs["seed"].dropna().unique()), key="runs_seed")
    alphas = {alpha: column.multiselect(alpha, alpha_values(runs, alpha), key=f"runs_{alpha}",
                                        format_func=lambda v: f"{v:g}")
              for alpha, column in zip(("a1", "a2", "a3"), (second, third, fourth))}
    auto_refresh = st.toggle("Refresh while runs are training", value=True, key="runs_auto_refresh")

training = bool((runs["status"] == "running").any())


@st.fragment(run_every=REFRESH_SECONDS if (training and auto_refresh) else None)
def run_list() -> None:
    current = load_runs()
    shown = filter_runs(current, datasets, backbones, statuses, mrdib or "all", seeds, alphas)
    warn_corrupt(shown)
    table = runs_table(shown, setting_names(setting_configs(current)))
    shown_table, constant = split_constant_columns(table)
    st.caption(f"{len(shown)} of {len(current)} runs" +
               (f"; refreshing every {REFRESH_SECONDS} s while a run trains" if training and auto_refresh else "")
               + ("; every run shown has " + ", ".join(f"{ {'dataset': 'data set'}.get(name, name)} **{value}**"
                                                        for name, value in constant.items()) if constant else "")
               + ". `alphas`: a1 · a2 · a3 (— for a baseline); `setting`: what a run was trained with apart from "
                 "seed and the MRdIB settings (the other pages average one configuration over its seeds and "
                 "choose configurations on validation, as `mrdib report` does). Test NDCG and "
                 "the run folder: Inspect one run, below.")
    column_config = {
        "status": st.column_config.TextColumn(width=70),
        "epoch": st.column_config.TextColumn(width=55, help="epochs done / planned"),
        "run_id": st.column_config.TextColumn("run", width=250),
        "dataset": st.column_config.TextColumn(width=120),
        "backbone": st.column_config.TextColumn(width=70),
        "alphas": st.column_config.TextColumn(width=125, help="a1 · a2 · a3"),
        "seed": st.column_config.NumberColumn(width=45),
        "best_epoch": st.column_config.NumberColumn("best", width=45, help="epoch with the best validation score"),
        "valid/recall@5": st.column_config.NumberColumn("valid R@5", format="%.4f", width=75),
        "test/recall@5": st.column_config.NumberColumn("test R@5", format="%.4f", width=75),
        "seconds_per_epoch": st.column_config.NumberColumn("s/epoch", format="%.2f", width=60),
        "setting": st.column_config.TextColumn(width=230),
    }
    st.dataframe(shown_table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 740),
                 key="runs_table", column_config=column_config)
    table_downloads(table, "runs", key="runs_download")


run_list()

with st.expander("Inspect one run"):
    run_id = st.selectbox("Run", runs["run_id"], key="runs_inspect")
    row = runs[runs["run_id"] == run_id].iloc[0]
    record = load_record(row["run_dir"]) if row["status"] != "corrupt" else None
    if record is None:
        st.warning(f"`{row['run_dir']}`: {row['problem']}")
    else:
        left, right = st.columns(2)
        left.markdown("**config.json**")
        left.code(json.dumps(record.config, indent=2), language="json", wrap_lines=True)
        right.markdown("**summary.json**")
        right.code(json.dumps(record.summary, indent=2), language="json", wrap_lines=True)
