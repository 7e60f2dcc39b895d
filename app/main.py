"""The MRdIB dashboard: `python -m mrdib dashboard` starts it (on 127.0.0.1; see mrdib/commands/dashboard.py).

A router: it picks the artifacts folder, lists the pages and runs the chosen one. The welcome
page comes first (at the root URL): an overview of the runs, or, with none yet, what to run
and a button that builds the demo runs.
"""

from __future__ import annotations

import sys
from pathlib import Path

APP_DIR = Path(__file__).resolve().parent
REPO_ROOT = APP_DIR.parent
# Shipped beside this file: a page icon named like ":material/..." makes the browser fetch it online.
PAGE_ICON = APP_DIR / "favicon.png"
if str(REPO_ROOT) not in sys.path:  # `streamlit run` puts app/ on the path, not the repository
    sys.path.insert(0, str(REPO_ROOT))

import streamlit as st  # noqa: E402

from app.lib.loaders import ARTIFACTS_KEY, STORAGE_KEY, artifacts_dir, clear_caches  # noqa: E402

st.set_page_config(page_title="MRdIB runs", page_icon=str(PAGE_ICON), layout="wide")

with st.sidebar:
    st.text_input("Artifacts folder", key=ARTIFACTS_KEY, placeholder=str(artifacts_dir()),
                  help="Where run folders live (default: $MRDIB_ARTIFACTS or ./artifacts).")
    st.text_input("Study storage (optional)", key=STORAGE_KEY, placeholder="postgresql://USER:PASSWORD@HOST/DB",
                  help="A sweep's or tuning study's database (default: $MRDIB_STORAGE): also list the runs "
                       "other machines finished, from the summaries stored with their trials.")
    if st.button("Reload runs", key="main_reload", icon=":material/refresh:"):
        clear_caches()

pages = {
    "Start": [st.Page("app_pages/welcome.py", title="Welcome", icon=":material/home:", default=True)],
    "Results": [
        st.Page("app_pages/runs.py", title="Runs", icon=":material/list:", url_path="runs"),
        st.Page("app_pages/metrics.py", title="Metrics table", icon=":material/table:", url_path="metrics"),
        st.Page("app_pages/disentanglement.py", title="Disentanglement", icon=":material/scatter_plot:",
                url_path="disentanglement"),
        st.Page("app_pages/sensitivity.py", title="Sensitivity", icon=":material/tune:", url_path="sensitivity"),
        st.Page("app_pages/traces.py", title="Training traces", icon=":material/show_chart:", url_path="traces"),
        st.Page("app_pages/ablations.py", title="Ablations and cost", icon=":material/science:",
                url_path="ablations"),
        st.Page("app_pages/dose_response.py", title="Dose-response", icon=":material/trending_down:", url_path="dose"),
        st.Page("app_pages/pid.py", title="Information decomposition", icon=":material/stacked_bar_chart:",
                url_path="pid"),
    ],
}
st.navigation(pages).run()
