"""``rvucalc reprice claims.csv -o priced.csv``: reprice a file of claim lines.

Input: CSV (every cell read as text, exactly as written), Parquet or Excel (.xlsx) with the
columns :func:`rvucalc.reprice.reprice` reads (claim_id, hcpcs, modifiers, units, pos, zip or
locality, date_of_service, charge, participating); other columns are carried through unchanged.
Output by extension: .csv, .parquet or .xlsx, written to a temporary file and renamed into place
(:mod:`rvucalc.claims.io`); without ``-o`` CSV goes to standard output. The output is checked
before any pricing (its folder exists and is writable, it is not the input). A line that cannot
be priced costs only that line a reason; the summary on standard error says how many.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import pandas as pd

from .errors import RvucalcError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``reprice`` subcommand to *subparsers*."""
    from .cli_common import mirror_options

    p = subparsers.add_parser("reprice", help="reprice a file of claim lines (CSV, Parquet or Excel)",
                              parents=[mirror_options()])
    p.add_argument("input", help="claim lines: .csv, .parquet or .xlsx")
    p.add_argument("-o", "--out", help="output file: .csv, .parquet or .xlsx (default: CSV to stdout)")
    p.add_argument("--claims-out", help="also write per-claim totals to this file (.csv, .parquet, .xlsx)")
    p.add_argument("--setting", choices=("pfs", "hopd", "asc"), default="pfs",
                   help="pfs: physician fee schedule (default); hopd: hospital outpatient facility "
                        "(OPPS); asc: ambulatory surgical center facility")
    p.add_argument("--sheet", default=0, help="Excel sheet name or index (default: the first)")
    p.add_argument("--release", action="append", help="use only this release id (repeatable), e.g. rvu26c")
    p.add_argument("--sequestration", action="store_true", help="also compute the 2%% sequestration")
    p.add_argument("--dayfirst", action="store_true",
                   help="read slashed dates as day/month/year (default: month/day/year)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--offline", action="store_true",
                   help="never download from CMS (this process and a local Dask cluster's workers)")
    from .cli_scale import add_engine_options  # --engine stream|dask (large files, clusters)

    add_engine_options(p)
    p.set_defaults(func=run)
    return p


def read_lines(path: str | Path, sheet: str | int = 0) -> pd.DataFrame:
    """Read claim lines (CSV cells as text, exactly as written); see :func:`rvucalc.claims.io.read_claims`."""
    from .claims.contract import LINE
    from .claims.io import read_claims

    return read_claims(path, sheet=sheet).drop(columns=[LINE])


def summary_line(out: pd.DataFrame) -> str:
    """``"1,000 lines priced: 990 payable, 10 not (REPRICE_BAD_UNITS 6, ...)"``."""
    n = len(out)
    paid = int(out["payable"].sum())
    text = f"{n:,} lines priced: {paid:,} payable"
    if paid < n:
        r = out.loc[~out["payable"].to_numpy(bool), "reason"].astype(str).str.split("|").explode()
        top = r[r != ""].value_counts().head(4)
        text += f", {n - paid:,} not ({', '.join(f'{k} {v:,}' for k, v in top.items())})"
    notes = out.loc[~out["payable"].to_numpy(bool), "release_note"].astype(str)
    notes = notes[notes != ""].unique()[:2] if "release_note" in out.columns else []
    for note in notes:
        text += f"\n  {note}"
    return text


def run(args: argparse.Namespace) -> int:
    """Run ``rvucalc reprice``; returns the exit status (2 on a user error)."""
    from .atomic import check_output
    from .claims import pipeline
    from .claims.contract import LINE
    from .claims.io import read_claims, to_arrow, write_claims, write_csv_table
    from .claims.summary import summarise_claims
    from .cli_scale import dispatch  # --engine stream|dask

    if getattr(args, "offline", False):  # as $RVUCALC_OFFLINE, which worker processes inherit
        os.environ["RVUCALC_OFFLINE"] = "1"
    if (rc := dispatch(args)) is not None:
        return rc
    try:
        for target in (args.out, getattr(args, "claims_out", None)):
            if target:
                check_output(target, [args.input])
        lines = read_claims(args.input, sheet=args.sheet)
        opts = pipeline.options(getattr(args, "setting", "pfs"), releases=args.release, mirror=args.mirror,
                                sequestration=args.sequestration, dayfirst=getattr(args, "dayfirst", False))
        out = pipeline.price_frame(lines, opts)
        if args.out:
            write_claims(out, args.out, provenance=_provenance(out, args), title="Repriced claim lines")
        else:
            write_csv_table(to_arrow(out.drop(columns=[LINE])), sys.stdout.buffer)
        if getattr(args, "claims_out", None):
            write_claims(summarise_claims(out), args.claims_out, provenance=_provenance(out, args),
                         title="Per-claim totals")
    except (RvucalcError, ValueError, OSError) as exc:
        print(f"rvucalc reprice: {exc}", file=sys.stderr)
        return 2
    print(summary_line(out) + (f" -> {args.out}" if args.out else ""), file=sys.stderr)
    return 0


def _provenance(out: pd.DataFrame, args: argparse.Namespace) -> object:
    """The CMS files behind the releases used, for workbook provenance (as the Python path has)."""
    from .claims.pipeline import provenance

    return provenance(out["release"].astype(str).unique()) or None


__all__ = ["add_parser", "read_lines", "run", "summary_line"]
