"""Welcome: what the dashboard shows, what to run, and a button that builds the demo runs."""

import streamlit as st

from app.lib.loaders import artifacts_dir, clear_caches, load_runs
from app.lib.welcome import demo_summary, run_demo
from mrdib.errors import MrdibError

st.title("MRdIB runs")
st.markdown(
    "MRdIB adds a per-modality information bottleneck to a multimodal recommender: a KL term "
    "(α1) compresses each modality's representation, a MINE bound (α2) pushes out what two "
    "modalities share, and a per-modality BPR term (α3) keeps what each one alone predicts. "
    "This dashboard reads the run folders that training writes and shows them next to the "
    "paper's numbers.")

root = artifacts_dir()
runs = load_runs()

if runs.empty:
    st.subheader("No runs yet")
    st.markdown(f"Nothing under `{root}/runs`. Train a run from a terminal, for example")
    st.code("python -m mrdib train --data synthetic --backbone vbpr --seed 0\n"
            "python -m mrdib train --data synthetic --backbone vbpr --seed 0 --mrdib --a1 0.001 --a2 0.01 --a3 0.01\n"
            "python -m mrdib train --data ../shared/data/baby --backbone freedom --mrdib", language="bash")
    st.markdown("or let the dashboard build the demo runs, which fill every page:")
    with st.container(border=True):
        summary = demo_summary()
        st.markdown(summary.description)
        if st.button("Build the demo runs", key="welcome_build_demo", type="primary", icon=":material/play_arrow:"):
            bar = st.progress(0.0, text="starting")
            try:
                run_demo(root, lambda done, total, text: bar.progress(done / max(total, 1), text=text))
            except MrdibError as error:
                st.error(f"The demo stopped: {error}")
            else:
                clear_caches()
                st.rerun()
else:
    counts = runs["status"].value_counts()
    columns = st.columns(4)
    for column, status in zip(columns, ("done", "running", "failed", "corrupt")):
        column.metric(status, int(counts.get(status, 0)))
    readable = runs[runs["status"] != "corrupt"]
    st.markdown(f"{len(runs)} run folders under `{root}/runs`: "
                f"{readable['dataset'].nunique()} data set(s), {readable['backbone'].nunique()} backbone(s).")
    for page, text in (("app_pages/runs.py", "Runs: every run, filterable"),
                       ("app_pages/metrics.py", "Metrics table: baseline vs +MRdIB vs the paper"),
                       ("app_pages/disentanglement.py", "Disentanglement: t-SNE/UMAP of z per modality"),
                       ("app_pages/sensitivity.py", "Sensitivity: metric against each alpha"),
                       ("app_pages/traces.py", "Training traces: losses, MINE bound, KL per epoch"),
                       ("app_pages/ablations.py", "Ablations and cost: Tables 2 and 3")):
        st.page_link(page, label=text)
