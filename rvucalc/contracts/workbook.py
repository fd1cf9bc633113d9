"""The comparison an analyst sends: a workbook of a book priced under several contracts.

Sheets (written by :func:`rvucalc.export.to_excel`):

- **Summary**: each contract's percent of Medicare by service category (with the book's total,
  ``All services``; a row per category, a column per contract) and a bar chart of it; under the
  title one sentence per contract (its total, percent of Medicare, and what it did not price,
  with the reasons);
- **By category**: per contract and category the lines, dollars and percent of Medicare;
- **Contracts**: each contract's book total;
- **Top codes**: the codes carrying the most contract dollars, contracts side by side;
- **Claims**: per-claim totals side by side;
- **Terms**: every term's lines and dollars, and its share of the contract's dollars;
- **Lines**: one row per line per contract (up to *max_lines* rows, as **Claims**; more go to
  CSV/Parquet, and the Summary says so);
- **Provenance**: every Medicare file (release, sha256) and every contract file and fee
  schedule file it names (sha256 of its bytes).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from . import summary as S
from .price import Book

#: Most line rows written to a workbook (rows = lines x contracts).
MAX_LINES = 50_000


def views(priced: pd.DataFrame, *, max_lines: int = MAX_LINES, top: int = 25,
          claims: pd.DataFrame | None = None) -> dict[str, pd.DataFrame]:
    """``{sheet name: frame}`` of the workbook (see the module docstring); *claims*: the per-claim
    totals when already at hand (:func:`rvucalc.contracts.price_book`), else made from *priced*."""
    cat = S.by_category(priced)
    notes = S.notes(priced)
    if len(priced) > max_lines:
        notes.append(f"The {len(priced):,} line rows (lines x contracts) are not in this workbook (more than "
                     f"{max_lines:,}); write them to .csv or .parquet.")
    # the Summary sheet: percent of Medicare, a row per category, a column per contract, and its chart
    cat.attrs["rvucalc.summary"] = {"index": ["category"], "columns": ["contract"], "values": [S.PCT],
                                    "agg": "first", "chart": True,
                                    "title": "Percent of Medicare by service category"}
    cat.attrs["rvucalc.provenance"] = priced.attrs.get("rvucalc.provenance")
    out = {"By category": cat, "Contracts": S.book_totals(priced), "Top codes": S.top_codes(priced, top)}
    if claims is not None or "claim_number" in priced.columns or "claim_id" in priced.columns:
        claims = S.claims_side_by_side(priced) if claims is None else claims
        if len(claims) <= max_lines:
            out["Claims"] = claims
        else:
            notes.append(f"The {len(claims):,} per-claim rows are not in this workbook (more than {max_lines:,}); "
                         "write them to .csv or .parquet (rvucalc contract --claims-out).")
    out["Terms"] = S.by_term(priced)
    if len(priced) <= max_lines:
        out["Lines"] = priced
    cat.attrs["rvucalc.notes"] = notes  # under the Summary's title, and on the Provenance sheet
    return out


def to_excel(priced: pd.DataFrame | Book, path: str | Path, *, title: str | None = None,
             max_lines: int = MAX_LINES, top: int = 25, progress: bool | None = None) -> Path:
    """Write the contract comparison workbook of *priced* (:func:`rvucalc.price_contracts`, or a
    :func:`rvucalc.contracts.price_book` result, whose per-claim totals are then used as they are)
    to *path* (atomically: a temporary file, then renamed)."""
    from ..export import to_excel as write

    claims = None
    if isinstance(priced, Book):
        priced, claims = priced.lines, priced.claims
    v = views(priced, max_lines=max_lines, top=top, claims=claims)
    names = ", ".join(S._contracts(priced))
    heading = title or f"Claims priced under payer contracts ({names}), as a percent of Medicare"
    # the other sheets are details of the comparison: one summary, the percent of Medicare by category
    return write(v, path, provenance=priced.attrs.get("rvucalc.provenance"), title=heading,
                 progress=progress, summaries=["By category"])


__all__ = ["MAX_LINES", "to_excel", "views"]
