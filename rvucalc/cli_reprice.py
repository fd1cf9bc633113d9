"""``rvucalc reprice claims.csv -o priced.xlsx``: reprice a file of claim lines.

Input: CSV or Excel (.xlsx) with the columns :func:`rvucalc.reprice.reprice`
reads (claim_id, hcpcs, modifiers, units, pos, zip or locality,
date_of_service, charge, participating). Text columns are read as text, so
ZIP codes and POS codes keep their leading zeros. Output by extension: .csv,
.parquet or .xlsx (formula-safe, see :mod:`rvucalc.export`); without ``-o``
CSV goes to standard output. The lead wires :func:`add_parser` and
:func:`run` into :mod:`rvucalc.cli`.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from .errors import RvucalcError

TEXT_COLUMNS = ("claim_id", "hcpcs", "modifiers", "pos", "zip", "locality", "participating")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``reprice`` subcommand to *subparsers*."""
    p = subparsers.add_parser("reprice", help="reprice a file of claim lines (CSV or Excel)")
    p.add_argument("input", help="claim lines: .csv or .xlsx")
    p.add_argument("-o", "--out", help="output file: .csv, .parquet or .xlsx (default: CSV to stdout)")
    p.add_argument("--sheet", default=0, help="Excel sheet name or index (default: the first)")
    p.add_argument("--release", action="append", help="use only this release id (repeatable), e.g. rvu26c")
    p.add_argument("--mirror", help="folder of CMS files (default: $RVUCALC_MIRROR)")
    p.add_argument("--sequestration", action="store_true", help="also compute the 2%% sequestration")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    from .cli_scale import add_engine_options  # --engine stream|dask (large files, clusters)

    add_engine_options(p)
    p.set_defaults(func=run)
    return p


def read_lines(path: str | Path, sheet: str | int = 0) -> pd.DataFrame:
    """Read claim lines from CSV or Excel, keeping code-like columns as text."""
    p = Path(path)
    dtypes = dict.fromkeys(TEXT_COLUMNS, str)
    if p.suffix.lower() in (".xlsx", ".xlsm", ".xls"):
        sh: str | int = int(sheet) if str(sheet).isdigit() else sheet
        return pd.read_excel(p, sheet_name=sh, dtype=dtypes)
    return pd.read_csv(p, dtype=dtypes, keep_default_na=True)


def run(args: argparse.Namespace) -> int:
    """Run ``rvucalc reprice``; returns the exit status (2 on a user error)."""
    from .cli_scale import dispatch  # --engine stream|dask
    from .export import write_table
    from .facade import load
    from .reprice import reprice

    if (rc := dispatch(args)) is not None:
        return rc
    try:
        lines = read_lines(args.input, args.sheet)
        releases = [load(release=r, mirror=args.mirror, progress=not args.no_progress)
                    for r in args.release] if args.release else None
        out = reprice(lines, releases=releases, mirror=args.mirror, sequestration=args.sequestration,
                      progress=not args.no_progress and len(lines) > 10_000)
    except (RvucalcError, ValueError, OSError) as exc:
        print(f"rvucalc reprice: {exc}", file=sys.stderr)
        return 2
    if args.out:
        write_table(out, args.out)
        paid = int(out["payable"].sum())
        print(f"{len(out):,} lines priced ({paid:,} payable) -> {args.out}", file=sys.stderr)
    else:
        out.to_csv(sys.stdout, index=False)
    return 0


__all__ = ["add_parser", "read_lines", "run"]
