"""Small display helpers shared by pages: bold-best tables, the corrupt-run warnings, the empty guards."""

from __future__ import annotations

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from app.lib.loaders import artifacts_dir
from app.lib.welcome import demo_progress

WELCOME_PAGE = "app_pages/welcome.py"


def styled(display: pd.DataFrame, bold: pd.DataFrame | None = None) -> Styler:
    """Formatted strings with the best cells in bold (the mask comes from `mrdib.results.tables.best_mask`)."""
    styler = display.style
    if bold is not None:
        mask = bold.reindex(index=display.index, columns=display.columns, fill_value=False)
        styler = styler.apply(lambda _: mask.replace({True: "font-weight: bold", False: ""}), axis=None)
    return styler.hide(axis="index")


def require_runs(runs: pd.DataFrame, what: str = "runs") -> None:
    """Stop the page with a pointer to the welcome page when there is nothing to show."""
    if runs.empty:
        st.info(f"No {what} in this artifacts folder yet.")
        st.page_link(WELCOME_PAGE, label="Start here: what to run, or build the demo runs", icon=":material/home:")
        st.stop()


def warn_corrupt(runs: pd.DataFrame) -> None:
    """One warning line per unreadable run folder: it is listed, never a traceback."""
    if runs.empty:
        return
    for row in runs[runs["status"] == "corrupt"].itertuples():
        st.warning(f"Unreadable run folder `{row.run_id}`: {row.problem}", icon=":material/warning:")


def stop_until_filled(while_building: str, otherwise: str) -> None:
    """Stop a page that has nothing to show yet, saying what fills it: the demo building in the
    background (`while_building`, followed by its progress) or the command to run (`otherwise`)."""
    building = demo_progress(artifacts_dir())
    st.info(f"{while_building} ({building['text']})." if building else otherwise)
    st.stop()
