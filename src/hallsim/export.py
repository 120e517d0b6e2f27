"""Results as an Excel workbook (the planners' offices work in Excel): every table of
:class:`~hallsim.results.Results` as a sheet of the same name, then the summary and the run's
settings.

Categories (categorical columns) are written as text, missing values as empty cells and
numbers to 16 significant digits (openpyxl's; Excel shows 15), so reading a sheet back with
:func:`pandas.read_excel` gives its table. Written with openpyxl.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from .results import Results

__all__ = ["EXCEL_MAX_ROWS", "TABLES", "excel_tables", "write_excel"]

# The tables of Results, in the workbook's order (tickets last: the longest)
TABLES = (
    "intervals",
    "windows",
    "staff",
    "reserve",
    "back_office",
    "replication_stats",
    "tickets",
)
# Rows of an Excel sheet, the header included
EXCEL_MAX_ROWS = 1_048_576


def excel_tables(results: Results, *, tickets: bool = True) -> dict[str, pd.DataFrame]:
    """The sheets :func:`write_excel` writes, by name: ``summary`` (the summary, its
    category index as a column), every table of ``results`` (``tickets`` when kept and
    asked for) and ``run`` (scenario name, seed, replications, engine, warnings)."""
    from .results import HallWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", HallWarning)
        summary = results.summary().reset_index()
    sheets = {"summary": summary}
    for name in TABLES:
        table = getattr(results, name)
        if table is None or (name == "tickets" and not tickets):
            continue
        sheets[name] = table
    settings = [
        ("scenario", results.scenario.name),
        ("seed", results.seed),
        ("replications", results.replications),
        ("days", results.scenario.hall.days),
        ("engine", results.engine),
        *(("warning", message) for message in results.warnings),
    ]
    sheets["run"] = pd.DataFrame(settings, columns=["setting", "value"]).astype({"value": str})
    return sheets


def write_excel(results: Results, path: str | Path, *, tickets: bool = True) -> Path:
    """Write ``results`` as an Excel workbook (``.xlsx``), one sheet per table.

    Parameters
    ----------
    results : Results
        A run.
    path : str or pathlib.Path
        The workbook to write (replaced if it exists).
    tickets : bool
        Whether to write the ticket table (when the run kept it). An Excel sheet holds at
        most 1,048,575 rows under its header.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ValueError
        When a table has more rows than a sheet holds (leave the tickets out, or write them
        as CSV or Parquet).
    """
    path = Path(path)
    sheets = excel_tables(results, tickets=tickets)
    for name, table in sheets.items():
        if len(table) + 1 > EXCEL_MAX_ROWS:
            hint = (
                " (write with tickets=False, and the tickets with to_csv or to_parquet)"
                if name == "tickets"
                else ""
            )
            raise ValueError(
                f"the {name} table has {len(table):,} rows, more than an Excel sheet holds "
                f"({EXCEL_MAX_ROWS - 1:,}){hint}"
            )
    with pd.ExcelWriter(path, engine="openpyxl") as writer:
        for name, table in sheets.items():
            _plain(table).to_excel(writer, sheet_name=name, index=False)
    return path


def _plain(table: pd.DataFrame) -> pd.DataFrame:
    """Categorical columns as text (missing stays missing)."""
    out = table.copy()
    for column in out.columns:
        if isinstance(out[column].dtype, pd.CategoricalDtype):
            out[column] = out[column].astype(object).where(out[column].notna(), None)
    return out
