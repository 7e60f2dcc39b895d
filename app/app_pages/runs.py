"""Runs: every run folder, filterable; runs still training show their epoch and refresh themselves."""

import json

import streamlit as st

from app.lib.downloads import table_downloads
from app.lib.filters import alpha_values, filter_runs, runs_table, setting_names
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
    st.caption(f"{len(shown)} of {len(current)} runs" +
               (f"; refreshing every {REFRESH_SECONDS} s while a run trains" if training and auto_refresh else "")
               + ". `setting`: what the runs were trained with, apart from seed and alphas (runs that share it are "
                 "averaged over seeds on the other pages). Test NDCG and the run folder: Inspect one run, below.")
    small = {"width": "small"}
    column_config = {
        "status": st.column_config.TextColumn(**small),
        "epoch": st.column_config.TextColumn(**small, help="epochs done / planned"),
        "run_id": st.column_config.TextColumn("run", width="medium"),
        "dataset": st.column_config.TextColumn(width="medium"),
        "backbone": st.column_config.TextColumn(**small),
        "mrdib": st.column_config.CheckboxColumn("MRdIB", **small),
        **{alpha: st.column_config.TextColumn(**small) for alpha in ("a1", "a2", "a3")},
        "seed": st.column_config.NumberColumn(**small),
        "best_epoch": st.column_config.NumberColumn("best ep.", **small, help="epoch with the best validation score"),
        "valid/recall@5": st.column_config.NumberColumn("valid R@5", format="%.4f", **small),
        "test/recall@5": st.column_config.NumberColumn("test R@5", format="%.4f", **small),
        "seconds_per_epoch": st.column_config.NumberColumn("s/epoch", format="%.2f", **small),
        "setting": st.column_config.TextColumn(width="medium"),
    }
    st.dataframe(table, hide_index=True, width="stretch", height=min(38 + 35 * len(table), 740), key="runs_table",
                 column_config=column_config)
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
