"""Dose-response: for each alpha, did the quantity its term targets move the way the paper says?"""

import pandas as pd
import streamlit as st

from app.lib.dose_response import dose_response_entries, verdict_display
from app.lib.downloads import figure_downloads, table_downloads
from app.lib.loaders import artifacts_dir
from app.lib.view import stop_until_filled
from mrdib.dose_response.core import TERM_TITLES, summary_frame, term_table
from mrdib.dose_response.core import verdict_frame
from mrdib.figures.dose_response import dose_response_figure

st.title("Dose-response")
st.caption("Each result varies one alpha with the others fixed and measures what that term targets: a2 the "
           "redundancy MI between modalities on posterior samples, a1 the posterior log-variance (and the "
           "planted-noise probe on synthetic data), a3 each modality's standalone ranking; accuracy beside them.")
entries = dose_response_entries(artifacts_dir())
if not entries:
    stop_until_filled("The demo building in the background checks each alpha here as its last step",
                      "No dose-response results in this artifacts folder yet. Run for example\n\n"
                      "`python -m mrdib dose-response --data synthetic --backbone vbpr --term all --values 0 0.001 "
                      "0.01 0.05`")
for entry in entries:
    if entry.problem:
        st.warning(f"Unreadable result `{entry.folder.name}`: {entry.problem}", icon=":material/warning:")
readable = [entry for entry in entries if entry.result is not None]
if not readable:
    st.stop()

choice = st.selectbox("Result", range(len(readable)), format_func=lambda i: readable[i].label, key="dose_result")
result = readable[choice].result
spec = result["spec"]
summary = summary_frame(result)
k = spec["k"]
st.markdown(f"**{spec['backbone']}** on `{spec['data']}`; base a1, a2, a3 = "
            f"{', '.join(f'{v:g}' for v in spec['base'])}; seeds {', '.join(map(str, spec['seeds']))}; "
            f"{len(result['runs'])} runs" + ("; MINE on" if spec.get("use_mine") else ""))

with st.container(border=True):
    st.subheader("Verdicts")
    verdicts = verdict_frame(result)
    primary = verdicts[verdicts["primary"]] if not verdicts.empty else verdicts
    show_all = st.toggle("Also the secondary quantities", key="dose_all_verdicts")
    st.dataframe(verdict_display(verdicts if show_all else primary), hide_index=True, width="stretch",
                 key="dose_verdicts")
    st.caption("Smallest against largest alpha of each sweep (means over seeds); ✓ moved as the paper says, "
               "≈ flat (by less than 10% or twice the std over seeds), ✗ the other way, – not measured (no planted "
               "factors, or MINE off).")

with st.container(border=True):
    figure = dose_response_figure(summary, k, spec["terms"])
    st.plotly_chart(figure, key="dose_chart")
    st.caption("Columns: the alpha varied (0 drawn a decade below the smallest value); rows: the term's main "
               f"target, its other targets, valid and test recall@{k}. Error bars: std over seeds.")
    figure_downloads(figure, f"dose_response_{result['name']}", key="dose_download")

for term in spec["terms"]:
    table = term_table(summary, term, k)
    with st.expander(f"{TERM_TITLES[term]}: table"):
        st.dataframe(table, hide_index=True, width="stretch", key=f"dose_table_{term}")
        table_downloads(table, f"dose_response_{result['name']}_{term}", key=f"dose_table_download_{term}")

with st.expander("Runs"):
    runs = pd.DataFrame(result["runs"])
    st.dataframe(runs, hide_index=True, width="stretch", key="dose_runs")
