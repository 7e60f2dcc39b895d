"""Dose-response results for the dashboard, read through `mrdib.dose_response.core` and cached
per file modification time (a rerun of the command shows on the next refresh)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import streamlit as st

from mrdib.dose_response.core import RESULT_FILE, list_dose_responses, read_dose_response
from mrdib.core.errors import RunError


@dataclass
class DoseResponseEntry:
    """One result folder: its result, or why it could not be read."""

    folder: Path
    result: dict[str, Any] | None
    problem: str | None = None

    @property
    def label(self) -> str:
        if self.result is None:
            return f"{self.folder.name} (unreadable)"
        spec = self.result["spec"]
        return f"{self.result['name']}: {spec['backbone']}, {', '.join(spec['terms'])} ({self.result['created'][:16]})"


@st.cache_data(show_spinner=False, max_entries=64)
def _read(folder: str, mtime: float) -> tuple[dict[str, Any] | None, str | None]:
    try:
        return read_dose_response(folder), None
    except RunError as error:
        return None, str(error)


def dose_response_entries(root: str | Path) -> list[DoseResponseEntry]:
    """Every result under <root>/dose_response, newest first; an unreadable one carries `problem`."""
    entries = []
    for folder in list_dose_responses(root):
        result, problem = _read(str(folder), (folder / RESULT_FILE).stat().st_mtime)
        entries.append(DoseResponseEntry(folder, result, problem))
    return entries


def verdict_display(verdicts: pd.DataFrame) -> pd.DataFrame:
    """The verdict table with a mark per row: ✓ moved as the paper says, ≈ flat (within noise), ✗ the
    other way, – not measured."""
    if verdicts.empty:
        return verdicts
    symbols = {"as expected": "✓", "flat": "≈", "against": "✗"}
    marks = verdicts["outcome"].map(lambda v: symbols.get(v, "–") if isinstance(v, str) else "–")
    shown = verdicts[["term", "quantity", "expected", "verdict"]].copy()
    shown.insert(0, "", marks)
    return shown
