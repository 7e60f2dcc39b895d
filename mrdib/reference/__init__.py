"""The paper's reported numbers (Tables 1-3), shipped as CSV so measured results can sit beside them.

These are facts from the paper, copied verbatim (typos included, e.g. a Table 2 precision of
0.0427); `mrdib.results.tables` lines them up with measured runs.
"""

from __future__ import annotations

from importlib import resources

import pandas as pd

from mrdib.core.errors import ConfigError

PAPER_TABLES = ("table1", "table2_ablation", "table3_time")


def paper_table(name: str) -> pd.DataFrame:
    """One of the paper's tables by name ("table1", "table2_ablation", "table3_time"; ".csv" optional)."""
    stem = name.removesuffix(".csv")
    if stem not in PAPER_TABLES:
        raise ConfigError(f"unknown paper table '{name}' (known: {', '.join(PAPER_TABLES)})")
    with (resources.files("mrdib.reference") / f"{stem}.csv").open() as handle:
        return pd.read_csv(handle)
