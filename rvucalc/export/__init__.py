"""Writing result tables to files (CSV, parquet, JSON, Excel) safely, and rate comparisons.

The package is split in two:

* :mod:`rvucalc.export.layout` decides what goes on which sheet (summaries,
  detail sheets, charts, provenance) and returns a plan;
* :mod:`rvucalc.export.writer` writes the plan's bytes with XlsxWriter,
  atomically (a temporary file in the target folder, renamed into place).

Text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return; OWASP "CSV injection") never
become formulas:

* in CSV they are written with a leading apostrophe (:func:`neutralise`);
* in Excel workbooks written by :func:`to_excel` they are stored as text
  cells (never formula elements) with Excel's "quote prefix" flag, so the cell
  keeps its exact text and stays text when a person edits it.

:func:`to_excel` writes any result frame (a :meth:`FeeSchedule.schedule`, a
:func:`compare` frame, a release :func:`rvucalc.diff.diff`, a site-of-service
comparison (a :class:`rvucalc.sites.SiteComparison` or its frame), a repricing
result, or a list of :class:`rvucalc.models.Quote`)
as an analyst's workbook: a summary (every figure a value, sum, count or mean,
labelled), native bar charts with axis titles, detail sheets and a provenance
sheet (CMS files with sha256, conversion factors, options).

Generic hooks (for calculators whose frames this package does not know):

``df.attrs["rvucalc.summary"]``
    ``{"index": [...], "columns": [...], "values": [...], "agg": "first",
    "chart": True, "title": "..."}``: how to pivot the frame for the summary
    sheet (see :class:`Summary`).
``df.attrs["rvucalc.kinds"]``
    ``{column: kind}`` (``"money"``, ``"count"``, ``"units"``, ``"index"``,
    ``"factor"``...; :data:`rvucalc.export.formats.KIND_FORMATS`): what a
    column holds, declared by the code that made it
    (:func:`rvucalc.export.formats.declare_kinds`; rvucalc's repricing,
    per-claim and site-of-service frames do). Columns not declared get a
    format guessed from their names (:func:`column_format`).
``df.attrs["rvucalc.formats"]``
    ``{column: excel number format}``, overriding the declared or guessed
    formats.
``df.attrs["rvucalc.notes"]``
    Sentences shown under the summary's title and on the Provenance sheet
    (e.g. why a setting has no amount).
``df.attrs["rvucalc.provenance"]``
    anything :func:`provenance_of` understands (a plain dict
    ``{"sources": [...], "parameters": {...}}`` is best: attrs are copied).
``df.attrs["rvucalc.kind"]``
    ``"reprice"``, ``"schedule"`` or ``"table"``: the workbook layout
    (default: told from the columns, see :mod:`rvucalc.export.layout`).
An object passed as ``provenance=`` may define ``provenance()`` returning
such a dict; objects with a ``sources`` attribute (``FeeSchedule``) and
pydantic :class:`~rvucalc.models.Source` / :class:`~rvucalc.models.Quote`
objects are understood directly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from .. import arguments
from ..atomic import atomic_output
from . import many as _many  # noqa: F401 - registers the many-places workbook (KIND_SHEETS)
from .formats import (
    CF_FORMAT,
    COUNT_FORMAT,
    CURRENCY_FORMAT,
    GPCI_FORMAT,
    INDEX_FORMAT,
    MEAN_FORMAT,
    PERCENT_FORMAT,
    RVU_FORMAT,
    column_format,
    is_formula_like,
    neutralise,
)
from .frames import compare, concat, quotes_frame
from .layout import (
    CHART_MAX_CATEGORIES,
    CHART_MAX_SERIES,
    EXCEL_MAX_ROWS,
    SUMMARY_MAX_CELLS,
    WIDE_MIN_ROWS,
    Summary,
    claims_frame,
    pivot,
    plan,
    summary_spec,
)
from .provenance import Provenance, provenance_of

#: The suffixes of a workbook (:func:`to_excel`) and of every table :func:`write_table` writes; any
#: other suffix is refused, never written in another format under its name.
WORKBOOK_SUFFIXES = (".xlsx", ".xlsm")
TABLE_SUFFIXES = (".csv", ".parquet", ".pq", ".json", *WORKBOOK_SUFFIXES)


def to_excel(
    result: Any,
    path: str | Path,
    *,
    provenance: Any = None,
    title: str | None = None,
    chart: bool = True,
    summary: Summary | Mapping[str, Any] | bool | None = None,
    formats: Mapping[str, str] | None = None,
    layout: str = "auto",
    progress: bool | None = None,
    summaries: Sequence[str] | None = None,
) -> Path:
    """Write a result as an analyst's workbook (XlsxWriter; atomic: temp file, then rename).

    Parameters
    ----------
    result:
        A DataFrame (schedule, :func:`compare`, :func:`rvucalc.diff.diff`,
        site-of-service comparison, repricing...), a Quote or list of Quotes,
        a :class:`rvucalc.sites.SiteComparison` (its frame, sources, and notes
        on where the facility was placed and why a setting has no amount), or
        a dict ``{view name: frame}`` for one detail sheet per view.
    path:
        The ``.xlsx`` file to write.
    provenance:
        What the numbers came from: a FeeSchedule, Quote(s), Source(s), a dict
        of parameters (``{"wage index": 1.2345, "options": ...}``), or a list of
        those. Added to what the frames' ``attrs["rvucalc.provenance"]`` and
        their ``release``/``conversion_factor`` columns already say. A
        FeeSchedule also names the localities beside their ids.
    title:
        Workbook title (summary sheet heading, file properties and provenance).
    chart:
        Draw native Excel bar charts of the summary (one per code when the
        summary's columns are codes, so every code's amounts can be read).
    summary:
        The summary pivot (:class:`Summary` or dict); ``False`` for none;
        default from the first view's ``attrs["rvucalc.summary"]`` or guessed
        by :func:`summary_spec` (a repricing result gets its own summary:
        key figures, sums per code, per-claim totals).
    formats:
        ``{column: Excel number format}`` overriding the guessed formats.
    layout:
        For a schedule frame: ``"long"`` (one row per code, locality and
        setting), ``"wide"`` (one sheet per setting, a row per code and a
        column per locality) or ``"auto"`` (wide above
        :data:`WIDE_MIN_ROWS` rows, e.g. the whole fee schedule).
    progress:
        Show a progress bar; default: for large workbooks when standard error
        is a terminal.
    summaries:
        With a dict of views: the views that get a summary sheet of their own
        (default: every view, ``Summary <view>`` each when there are several;
        a workbook whose other views are details of the first names only the
        first).

    Sheets: ``Summary`` (title, the figures with frozen header and label
    columns, autofilter, currency formats, the charts to its right), one
    detail sheet per view (frozen header row, autofilter, number formats,
    column widths; views longer than an Excel sheet continue on further
    sheets), ``Reasons`` (every reason code the workbook's tables hold, its
    words and its CMS rule, and where it appears), ``Provenance``. Amounts are written as they are in the frame
    (already cent-rounded by the calculators); sums are rounded to cents once.
    Input columns are written as they are typed (text stays text), numbers as
    numbers; percent-point columns (``*_pct``) as fractions under a percent
    format. Text that looks like a formula is written as text.
    """
    from .writer import write

    path = arguments.output_path(path, WORKBOOK_SUFFIXES, "a workbook",
                                 hint="a table as CSV, Parquet or JSON: rvucalc.export.write_table")
    p = plan(result, provenance=provenance, title=title, chart=chart, summary=summary, formats=formats,
             layout=layout, summaries=summaries)
    return write(p, path, progress=progress)


def write_table(
    df: pd.DataFrame,
    path: str | Path,
    *,
    provenance: Any = None,
    title: str | None = None,
    progress: bool | None = None,
) -> Path:
    """Write *df* by file extension, atomically: .csv, .parquet (.pq), .json or .xlsx (a :func:`to_excel`
    workbook); any other suffix is refused (:class:`rvucalc.errors.InvalidArgumentError`).

    CSV cells that a spreadsheet would run as formulas get a leading
    apostrophe (:func:`neutralise`); rows end in CRLF (RFC 4180).
    """
    p = arguments.output_path(path, TABLE_SUFFIXES, "a table")
    ext = p.suffix.lower()
    if ext in WORKBOOK_SUFFIXES:
        return to_excel(df, p, provenance=provenance, title=title, progress=progress)
    with atomic_output(p) as tmp:
        if ext in (".parquet", ".pq"):
            df.to_parquet(tmp, index=False)
        elif ext == ".json":
            df.to_json(tmp, orient="records", indent=2)
        else:
            # CRLF rows (RFC 4180) also make the writer quote text holding a CR or LF
            neutralise(df).to_csv(tmp, index=False, lineterminator="\r\n")
    return p


__all__ = [
    "CF_FORMAT", "CHART_MAX_CATEGORIES", "CHART_MAX_SERIES", "COUNT_FORMAT", "CURRENCY_FORMAT",
    "EXCEL_MAX_ROWS", "GPCI_FORMAT", "INDEX_FORMAT", "MEAN_FORMAT", "PERCENT_FORMAT", "RVU_FORMAT",
    "SUMMARY_MAX_CELLS", "WIDE_MIN_ROWS", "Provenance", "Summary", "atomic_output", "claims_frame",
    "column_format", "compare", "concat", "is_formula_like", "neutralise", "pivot", "provenance_of", "quotes_frame",
    "TABLE_SUFFIXES", "WORKBOOK_SUFFIXES", "summary_spec", "to_excel", "write_table",
]
