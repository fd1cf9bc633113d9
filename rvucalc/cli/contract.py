"""``rvucalc contract``: a book of claims priced under payer contracts, or contract rate sheets.

::

    rvucalc contract book.csv --contract acme.yaml --contract beta.yaml -o out.xlsx [--claims-out claims.csv]
    rvucalc contract --rates acme.yaml --codes 99213 99214 20983 --zip 90012

The book (CSV cells read as text, Parquet or .xlsx; the columns :func:`rvucalc.reprice` reads,
or lines already priced with ``medicare_allowed`` and ``fee_schedule``) is priced under Medicare
and then under each contract (:func:`rvucalc.price_contracts`). ``-o`` by its suffix: ``.xlsx``
the comparison workbook (:mod:`rvucalc.contracts.workbook`), ``.csv``/``.parquet`` the rows (one
per line per contract, written as ``rvucalc reprice`` writes its rows: the user's cells as given);
without ``-o`` the book's totals are printed. ``--claims-out`` writes
the per-claim totals side by side. A one-line summary per contract goes to standard error.

``--engine stream`` prices a CSV or Parquet book of any length in bounded memory and ``--engine
dask`` a Parquet dataset (a folder or a glob) on a Dask cluster, with the same figures as in
memory (:mod:`rvucalc.contracts.engine`). Their rows are one per line, in the book's order, the
contracts side by side in columns (``<contract> allowed``, ``<contract> term``...), which
``--layout wide`` also gives the in-memory engine (byte-identical output); ``--claims-out`` gets
the per-claim totals side by side. They write ``.csv``/``.parquet`` (dask: a folder), not the
workbook.

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
    p.add_argument("--layout", choices=("long", "wide"),
                   help="-o .csv/.parquet rows: long, a row per line per contract (the default in memory), "
                        "or wide, a row per line with the contracts side by side (what the stream and dask "
                        "engines write)")
    g = p.add_argument_group("engines (large books, clusters)")
    g.add_argument("--engine", choices=("memory", "stream", "dask"), default="memory",
                   help="memory (default): the whole book at once; stream: a CSV or Parquet book of any "
                        "length in bounded memory; dask: a Parquet dataset (folder or glob) on a Dask cluster "
                        "(-o a folder). Both write the wide layout")
    g.add_argument("--scheduler", help="dask: scheduler address (tcp://host:8786); default a local cluster")
    g.add_argument("--workers", type=int, help="dask: local workers; stream: parts priced at once (threads)")
    g.add_argument("--chunk-lines", type=int, help="stream: lines priced at once")
    g.add_argument("--no-progress", action="store_true", help="no progress bar")
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
    from ..claims.io import read_claims, write_claims
    from ..contracts import load, price_book, price_contracts
    from ..contracts import summary as S
    from ..contracts import workbook as W
    from ..render import Table, emit

    if not args.book:
        raise ValueError("give the book of claims (rvucalc contract book.csv --contract acme.yaml ...) or "
                         "--rates with --codes")
    if not args.contract:
        raise ValueError("give at least one --contract FILE (a YAML contract)")
    if args.engine == "dask":  # folders: rvucalc.dask checks them (only its own datasets replaced)
        return _engine(args)
    inputs = [args.book, *args.contract]
    _check(args.out, "-o", BOOK_SUFFIXES, inputs)
    _check(args.claims_out, "--claims-out", BOOK_SUFFIXES, inputs)
    if args.out and args.claims_out and same_file(args.out, args.claims_out):
        raise OutputError(f"--claims-out {args.claims_out} is the same file as -o {args.out}: give it another name")
    if args.engine != "memory":
        return _engine(args)
    contracts = [load(c) for c in args.contract]  # every contract checked before any pricing
    from ..claims.contract import LINE

    if args.layout == "wide":
        return _wide(args, contracts)
    lines = read_claims(args.book, sheet=args.sheet).drop(columns=[LINE])
    from ..claims.columns import parse, resolve

    given = parse(args.columns)
    mapping = resolve(lines.columns, given, source=args.book)  # errors name the file
    how = dict(setting=args.setting, releases=args.release, mirror=args.mirror, dayfirst=args.dayfirst,
               wage_index=args.wage_index, input_columns=given)
    workbook = bool(args.out) and Path(args.out).suffix.lower() == ".xlsx"
    claims = None
    if args.claims_out or workbook:  # the rows and the per-claim totals in one run (lines parsed once)
        book = price_book(lines, contracts, **how)
        priced, claims = book.lines, book.claims
    else:
        priced = price_contracts(lines, contracts, **how)
    title = f"{Path(args.book).name} priced under {', '.join(c.name for c in contracts)}"
    if args.out:
        if workbook:
            W.to_excel(book, args.out, title=title)
        else:  # the rows as the repricer writes its own (the user's cells as given, pyarrow's writer)
            write_claims(priced, args.out)
    if args.claims_out and claims is not None:
        write_claims(claims, args.claims_out, provenance=priced.attrs.get("rvucalc.provenance"),
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


def _options(args: argparse.Namespace, contracts: list) -> object:
    from ..contracts import engine

    return engine.options(contracts, setting=args.setting, releases=args.release, mirror=args.mirror,
                          dayfirst=args.dayfirst, wage_index=args.wage_index)


def _wide(args: argparse.Namespace, contracts: list) -> int:
    """``--layout wide`` in memory: the whole book as one chunk of the engines' pricer."""
    from ..claims.io import read_claims, write_claims
    from ..contracts import engine

    if args.out and Path(args.out).suffix.lower() == ".xlsx":
        raise ValueError("--layout wide writes rows (-o .csv or .parquet); the workbook (-o .xlsx) is made "
                         "from the long layout: drop --layout wide")
    priced = engine.price_chunk(read_claims(args.book, sheet=args.sheet), _options(args, contracts))
    if args.out:
        write_claims(priced, args.out)
    if args.claims_out:
        write_claims(engine.summarise_wide(priced), args.claims_out)
    _said(args, len(priced), [c.name for c in contracts])
    return 0


def _said(args: argparse.Namespace, n: int, names: list[str]) -> None:
    where = f" -> {args.out}" if args.out else ""
    print(f"rvucalc contract: {n:,} lines priced under {', '.join(names)} (engine {args.engine}; a row per "
          f"line, the contracts side by side){where}", file=sys.stderr)


def _engine(args: argparse.Namespace) -> int:
    """``--engine stream|dask``: the contracts' chunk pricer on the claims engines."""
    from ..contracts import engine

    if args.layout == "long":
        raise ValueError(f"--engine {args.engine} writes the wide layout (a row per line, the contracts side by "
                         "side); the long layout needs the whole book in memory: drop --layout long or use "
                         "--engine memory")
    give = "a folder or a .parquet name" if args.engine == "dask" else "out.csv or out.parquet"
    if not args.out:
        raise ValueError(f"--engine {args.engine} needs an output (-o {give})")
    if Path(args.out).suffix.lower() == ".xlsx" or (args.claims_out and
                                                    Path(args.claims_out).suffix.lower() == ".xlsx"):
        raise ValueError(f"--engine {args.engine} writes rows ({give}), not the workbook: use --engine memory "
                         "for -o .xlsx")
    opts = _options(args, args.contract)
    names = [engine.contracts_of(opts)[i].name for i in range(len(opts.contracts))]
    if args.engine == "stream":
        n = engine.price_contracts_file(args.book, args.out, opts, claims_out=args.claims_out,
                                        chunk_lines=args.chunk_lines, progress=not args.no_progress,
                                        workers=args.workers)
    else:
        from ..dask import reprice_dataset

        n = reprice_dataset(args.book, args.out, options=opts, price=engine.price_chunk, scheduler=args.scheduler,
                            workers=args.workers, progress=not args.no_progress, claims_out=args.claims_out,
                            summarise=engine.summarise_wide)
    _said(args, n, names)
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
