"""A committed runs table (`runs.csv`, written by `mrdib report`): one row per run with its
configuration key, seed, metrics, budget and mechanism values. Read here so that both the report
(rebuilding its tables without run folders) and a sweep (`--restore-from`) use one reader."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mrdib.core.errors import MrdibError

REQUIRED_COLUMNS = ("config", "dataset", "backbone", "variant", "seed")


def read_runs_table(path: str | Path) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except FileNotFoundError:
        raise MrdibError(f"{path}: no such runs table; `mrdib report` writes runs.csv beside results.md")
    except (ValueError, pd.errors.ParserError) as exc:
        raise MrdibError(f"{path}: unreadable runs table ({exc})")
    missing = set(REQUIRED_COLUMNS) - set(frame.columns)
    if missing or frame.empty:
        raise MrdibError(f"{path}: not a runs table written by `mrdib report` "
                         f"({'missing column ' + sorted(missing)[0] if missing else 'no rows'})")
    return frame


def row_values(row: dict[str, Any], prefix: str) -> dict[str, float]:
    """{name: value} of a runs-table row's columns `<prefix><name>` (empty cells left out)."""
    return {k[len(prefix):]: float(v) for k, v in row.items()
            if k.startswith(prefix) and v is not None and not pd.isna(v)}
