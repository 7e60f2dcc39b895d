"""Welcome: what the dashboard shows, what to run, and the demo runs (built in the background)."""

import streamlit as st

from app.lib.loaders import ARTIFACTS_KEY, artifacts_dir, clear_caches, load_runs
from app.lib.welcome import PAGE_LINKS, demo_progress, demo_stopped, demo_summary, start_demo

DEMO_REFRESH_SECONDS = 2

st.title("MRdIB runs")
st.markdown(
    "MRdIB adds a per-modality information bottleneck to a multimodal recommender: a KL term "
    "(α1) compresses each modality's representation, a MINE bound (α2) pushes out what two "
    "modalities share, and a per-modality BPR term (α3) keeps what each one alone predicts. "
    "This dashboard reads the run folders that training writes and shows them next to the "
    "paper's numbers.")

root = artifacts_dir()
typed = bool(st.session_state.get(ARTIFACTS_KEY))
if typed and not root.is_dir():
    st.error(f"`{root}` does not exist{' (it is a file)' if root.exists() else ''}. Check the artifacts folder in "
             "the sidebar, or clear it to use the default.", icon=":material/folder_off:")
    st.stop()

runs = load_runs()
progress = demo_progress(root)


@st.fragment(run_every=DEMO_REFRESH_SECONDS if progress else None)
def demo_status() -> None:
    """The background demo's progress bar; the whole page reruns when a run finishes."""
    current = demo_progress(root)
    seen = st.session_state.get("welcome_demo_seen")
    now = (current or {}).get("done")
    if seen is not None and now != seen:
        st.session_state["welcome_demo_seen"] = now
        clear_caches()
        st.rerun(scope="app")
    st.session_state["welcome_demo_seen"] = now
    if current:
        st.progress(current["fraction"], text=current["text"])
        st.caption("Finished runs appear on every page as they land; this bar refreshes every "
                   f"{DEMO_REFRESH_SECONDS} s. The log is `{root / 'demo.log'}`.")


if progress:
    with st.container(border=True):
        st.markdown("**Building the demo runs in the background**")
        demo_status()
stopped = None if progress else demo_stopped(root)
if stopped:
    st.warning(stopped, icon=":material/warning:")
    if st.button("Continue building the demo runs", key="welcome_resume_demo", icon=":material/play_arrow:"):
        start_demo(root)
        st.rerun()

if runs.empty:
    st.subheader("No runs yet")
    where = f"`{root}/runs`" if root.is_dir() else f"`{root}` (it does not exist yet)"
    st.markdown(f"Nothing under {where}. Train a run from a terminal in the repository (after "
                "`. .venv/bin/activate`), for example")
    st.code("python -m mrdib train --data synthetic --backbone vbpr --seed 0\n"
            "python -m mrdib train --data synthetic --backbone vbpr --seed 0 --mrdib --a1 0.001 --a2 0.01 --a3 0.01\n"
            "python -m mrdib train --data path/to/mmrec_folder --backbone freedom --mrdib", language="bash")
    if not progress:
        st.markdown("or let the dashboard build the demo runs, which fill every page:")
        with st.container(border=True):
            st.markdown(demo_summary().description)
            label = "Build the demo runs" if root.is_dir() else f"Create {root.name}/ and build the demo runs"
            if st.button(label, key="welcome_build_demo", type="primary", icon=":material/play_arrow:"):
                start_demo(root)
                st.rerun()
else:
    counts = runs["status"].value_counts()
    columns = st.columns(4)
    for column, status in zip(columns, ("done", "running", "failed", "corrupt")):
        column.metric(status, int(counts.get(status, 0)))
    readable = runs[runs["status"] != "corrupt"]
    st.markdown(f"{len(runs)} run folders under `{root}/runs`: "
                f"{readable['dataset'].nunique()} data set(s), {readable['backbone'].nunique()} backbone(s).")
    st.markdown("**Pages**")
    for page, text, icon in PAGE_LINKS:
        st.page_link(page, label=text, icon=icon)
