"""Download buttons: every figure as PNG, SVG and PDF, every table as CSV and LaTeX.

Figure files are rendered only when a button is clicked (kaleido takes a moment), and a
click does not rerun the page.
"""

from __future__ import annotations

from typing import Callable

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from mrdib.figures.charts import EXPORT_FORMATS, figure_bytes
from mrdib.results.tables import to_latex


def _render(fig: go.Figure, fmt: str) -> Callable[[], bytes]:
    return lambda: figure_bytes(fig, fmt)


def figure_downloads(fig: go.Figure, stem: str, key: str) -> None:
    """Three small buttons under a chart; `key` carries the page prefix."""
    columns = st.columns(len(EXPORT_FORMATS) + 3)
    for column, (fmt, mime) in zip(columns, EXPORT_FORMATS.items()):
        column.download_button(fmt.upper(), data=_render(fig, fmt), file_name=f"{stem}.{fmt}", mime=mime,
                               key=f"{key}_{fmt}", on_click="ignore", icon=":material/download:")


# Counts: written as integers in CSV although a missing value (an improvement row's seeds) makes them float.
COUNT_COLUMNS = ("seeds", "seed", "runs", "epochs", "epochs_run", "best_epoch")


def csv_table(table: pd.DataFrame) -> pd.DataFrame:
    """The table for CSV: count columns (`seeds`, `runs baseline`, ...) as nullable integers, so 2 reads 2, not 2.0."""
    out = table.copy()
    for column in out.columns:
        name = str(column)
        if (name in COUNT_COLUMNS or name.startswith("runs ")) and pd.api.types.is_numeric_dtype(out[column]):
            values = out[column]
            if (values.dropna() % 1 == 0).all():
                out[column] = values.astype("Int64")
    return out


def table_downloads(table: pd.DataFrame, stem: str, key: str, latex_table: pd.DataFrame | None = None,
                    bold: pd.DataFrame | None = None, caption: str = "") -> None:
    """CSV of the numbers and LaTeX of the formatted table (bold where `bold` says)."""
    latex = to_latex(latex_table if latex_table is not None else table, bold, caption=caption,
                     label=f"tab:{stem}")
    left, right, _ = st.columns([1, 1, 6])
    left.download_button("CSV", data=csv_table(table).to_csv(index=False), file_name=f"{stem}.csv", mime="text/csv",
                         key=f"{key}_csv", on_click="ignore", icon=":material/download:")
    right.download_button("LaTeX", data=latex, file_name=f"{stem}.tex", mime="application/x-tex",
                          key=f"{key}_tex", on_click="ignore", icon=":material/download:")
