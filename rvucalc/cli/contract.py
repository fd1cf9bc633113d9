"""``rvucalc contract``: a book of claims priced under payer contracts, or contract rate sheets.

::

    rvucalc contract book.csv --contract acme.yaml --contract beta.yaml -o out.xlsx [--claims-out claims.csv]
    rvucalc contract --rates acme.yaml --codes 99213 99214 20983 --zip 90012

The book (CSV cells read as text, Parquet or .xlsx; the columns :func:`rvucalc.reprice` reads,
or lines already priced with ``medicare_allowed`` and ``fee_schedule``) is priced under Medicare
and then under each contract (:func:`rvucalc.price_contracts`). ``-o`` by its suffix: ``.xlsx``
the comparison workbook (:mod:`rvucalc.contracts.workbook`), ``.csv``/``.parquet`` the rows (one
per line per contract); without ``-o`` the book's totals are printed. ``--claims-out`` writes
the per-claim totals side by side. A one-line summary per contract goes to standard error.

``--rates`` quotes codes in one place and date under each contract, beside Medicare
(:func:`rvucalc.contracts.rates.rate_sheet`); ``-o`` exports the sheet.

Exit status: 0 done; 2 an error (one sentence: a contract file's line, a missing column, an
output that cannot be written).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import RvucalcError

BOOK_SUFFIXES = (".xlsx", ".csv", ".parquet", ".pq")
TABLE_SUFFIXES = (".xlsx", ".csv", ".parquet", ".pq", ".json")


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``contract`` subcommand to *subparsers*."""
    from .common import mirror_options

    p = subparsers.add_parser(
        "contract", parents=[mirror_options()],
        help="price a book of claims under payer contracts (YAML), side by side with Medicare",
        description="Examples: rvucalc contract book.csv --contract acme.yaml --contract beta.yaml -o "
                    "out.xlsx; rvucalc contract --rates acme.yaml --codes 99213 99214 20983 --zip 90012")
    p.add_argument("book", nargs="?", help="claim lines: .csv, .parquet or .xlsx")
    p.add_argument("--contract", action="append", default=[], metavar="FILE",
                   help="a contract file (YAML); repeat for several")
    p.add_argument("-o", "--out", help="book: .xlsx (the comparison workbook), .csv or .parquet (a row per "
                                       "line per contract); rates: .xlsx, .csv, .parquet or .json")
    p.add_argument("--claims-out", help="also write the per-claim totals side by side (.csv, .parquet, .xlsx)")
    p.add_argument("--setting", choices=("pfs", "hopd", "asc"), default="pfs",
                   help="Medicare for the lines: pfs (physician fee schedule, default), hopd (hospital "
                        "outpatient, OPPS) or asc")
    p.add_argument("--sheet", default=0, help="Excel sheet of the book (default: the first)")
    from .common import add_columns_option

    add_columns_option(p)  # --columns claim_id=CLM_ID,...: the book's headers
    p.add_argument("--release", action="append", help="use only this Medicare release id (repeatable)")
    p.add_argument("--dayfirst", action="store_true", help="read slashed dates as day/month/year")
    p.add_argument("--wage-index", type=float, help="facility wage index for lines that give none (hopd/asc)")
    p.add_argument("--offline", action="store_true", help="never download from CMS")
    r = p.add_argument_group("rate sheet")
    r.add_argument("--rates", action="append", default=[], metavar="FILE",
                   help="quote codes under this contract (repeatable) beside Medicare")
    r.add_argument("--codes", nargs="+", help="codes to quote: 99213 99214 20983 71046-26")
    place = r.add_mutually_exclusive_group()
    place.add_argument("--zip", help="ZIP code of the place of service, e.g. 90012")
    place.add_argument("--locality", help="MAC-locality id (01182-18) or national")
    r.add_argument("--pos", default="11", help="place of service (default 11, office)")
    r.add_argument("--date", help="date of service priced, YYYY-MM-DD (default: today)")
    p.set_defaults(func=run)
    return p


def run(args: argparse.Namespace) -> int:
    """Run ``rvucalc contract``; returns the exit status."""
    if args.offline:
        os.environ["RVUCALC_OFFLINE"] = "1"
    try:
        if args.rates or (args.codes and not args.book):
            return _rates(args)
        return _book(args)
    except (RvucalcError, ValueError, OSError) as exc:
        print(f"rvucalc contract: {exc}", file=sys.stderr)
        return 2


def _check(target: str | None, option: str, suffixes: tuple[str, ...], inputs: list[str]) -> None:
    from ..atomic import OutputError, check_output

    if not target:
        return
    if Path(target).suffix.lower() not in suffixes:
        raise OutputError(f"cannot write {option} {target}: the suffix chooses the format; give one of "
                          f"{', '.join(suffixes)}")
    check_output(target, inputs)


def _book(args: argparse.Namespace) -> int:
    from ..atomic import OutputError, same_file
    from ..claims.io import read_claims
    from ..contracts import load, price_contracts
    from ..contracts import summary as S
    from ..contracts import workbook as W
    from ..export import write_table
    from ..render import Table, emit

    if not args.book:
        raise ValueError("give the book of claims (rvucalc contract book.csv --contract acme.yaml ...) or "
                         "--rates with --codes")
    if not args.contract:
        raise ValueError("give at least one --contract FILE (a YAML contract)")
    inputs = [args.book, *args.contract]
    _check(args.out, "-o", BOOK_SUFFIXES, inputs)
    _check(args.claims_out, "--claims-out", BOOK_SUFFIXES, inputs)
    if args.out and args.claims_out and same_file(args.out, args.claims_out):
        raise OutputError(f"--claims-out {args.claims_out} is the same file as -o {args.out}: give it another name")
    contracts = [load(c) for c in args.contract]  # every contract checked before any pricing
    from ..claims.contract import LINE

    lines = read_claims(args.book, sheet=args.sheet).drop(columns=[LINE])
    from ..claims.columns import parse, resolve

    given = parse(args.columns)
    mapping = resolve(lines.columns, given, source=args.book)  # errors name the file
    priced = price_contracts(lines, contracts, setting=args.setting, releases=args.release, mirror=args.mirror,
                             dayfirst=args.dayfirst, wage_index=args.wage_index, input_columns=given)
    title = f"{Path(args.book).name} priced under {', '.join(c.name for c in contracts)}"
    if args.out:
        if Path(args.out).suffix.lower() == ".xlsx":
            W.to_excel(priced, args.out, title=title)
        else:
            write_table(priced, args.out)
    if args.claims_out:
        claims = S.claims_side_by_side(priced)
        write_table(claims, args.claims_out, provenance=priced.attrs.get("rvucalc.provenance"),
                    title=f"{title}: per-claim totals")
    if not args.out:
        t = S.book_totals(priced)
        rows = [[r["contract"], f"{r['lines priced']:,} of {r['lines']:,}",
                 f"${r['contract allowed']:,.2f}" if r["contract allowed"] == r["contract allowed"] else "-",
                 f"${r['Medicare allowed (lines with both)']:,.2f}",
                 f"{r[S.PCT]:.2f}%" if r[S.PCT] == r[S.PCT] else "-"] for _, r in t.iterrows()]
        emit(Table(["contract", "lines priced", "contract allowed", "Medicare (same lines)", "% of Medicare"],
                   rows, numeric=["contract allowed", "Medicare (same lines)", "% of Medicare"], title=title))
    for note in S.notes(priced):
        print(f"rvucalc contract: {note}" + (f" -> {args.out}" if args.out else ""), file=sys.stderr)
    from .common import columns_note

    if note := columns_note(mapping):
        print(f"rvucalc contract: {note.strip()}", file=sys.stderr)
    return 0


def _rates(args: argparse.Namespace) -> int:
    from ..contracts.rates import as_text_table, rate_sheet
    from ..export import to_excel, write_table
    from ..render import Table, emit

    files = [*args.rates, *args.contract]
    if not files:
        raise ValueError("give the contract to quote: --rates acme.yaml (repeatable)")
    if not args.codes:
        raise ValueError("give the codes to quote: --codes 99213 99214 20983")
    _check(args.out, "-o", TABLE_SUFFIXES, files)
    sheet = rate_sheet(files, args.codes, zip=args.zip, locality=args.locality, pos=args.pos, date=args.date,
                       setting=args.setting, releases=args.release, mirror=args.mirror, wage_index=args.wage_index)
    title = sheet.attrs["rvucalc.title"]
    if args.out:
        if Path(args.out).suffix.lower() == ".xlsx":
            to_excel(sheet, args.out, provenance=sheet.attrs.get("rvucalc.provenance"), title=title)
        else:
            write_table(sheet, args.out)
    cols, rows, numeric = as_text_table(sheet)
    emit(Table(cols, rows, numeric=numeric, title=title,
               notes=["% = the contract's rate over Medicare's allowed amount; - (CODE): no rate, "
                      "its reason code (words: rvucalc.explain(CODE) in Python)"]))
    return 0


__all__ = ["add_parser", "run"]
