"""``rvucalc reprice claims.csv -o priced.csv``: reprice a file of claim lines.

Input: CSV (every cell read as text, exactly as written), Parquet or Excel (.xlsx) with the
columns :func:`rvucalc.reprice.reprice` reads (claim_id, hcpcs, modifiers, units, pos, zip or
locality, date_of_service, charge, participating); other columns are carried through unchanged.
Output by extension: .csv, .parquet (.pq) or .xlsx, written to a temporary file and renamed into
place (:mod:`rvucalc.claims.io`); any other suffix is refused (``--engine stream`` writes no
Excel; ``--engine dask`` writes a Parquet dataset, a folder: ``-o`` is a folder or a ``.parquet``
name). Without ``-o`` CSV goes to standard output. The outputs are checked before any pricing
(:func:`check_targets`: their folder exists and is writable, none is the input, ``--claims-out``
is not ``-o``). A line that cannot be priced costs only that line a reason; the summary on
standard error says how many. Ctrl-C or SIGTERM stops the run with one line saying what became
of each output (exit status 130 or 143); temporary files and folders are removed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

import pandas as pd

from ..errors import RvucalcError


def add_parser(subparsers: argparse._SubParsersAction) -> argparse.ArgumentParser:  # type: ignore[type-arg]
    """Add the ``reprice`` subcommand to *subparsers*."""
    from .common import mirror_options, whatif_options

    p = subparsers.add_parser("reprice", help="reprice a file of claim lines (CSV, Parquet or Excel)",
                              parents=[mirror_options(), whatif_options()])
    p.add_argument("input", help="claim lines: .csv, .parquet or .xlsx")
    p.add_argument("-o", "--out", help="output file: .csv, .parquet or .xlsx, by its suffix (default: CSV "
                                       "to stdout); --engine dask: a folder or .parquet name (a dataset)")
    p.add_argument("--claims-out", help="also write per-claim totals to this file (.csv, .parquet, .xlsx; "
                                        "--engine dask: a folder or .parquet name); not the -o file")
    p.add_argument("--setting", choices=("pfs", "hopd", "asc"), default="pfs",
                   help="pfs: physician fee schedule (default); hopd: hospital outpatient facility "
                        "(OPPS); asc: ambulatory surgical center facility")
    p.add_argument("--sheet", default=0, help="Excel sheet name or index (default: the first)")
    from .common import add_columns_option

    add_columns_option(p)
    p.add_argument("--release", action="append", help="use only this release id (repeatable), e.g. rvu26c")
    p.add_argument("--sequestration", action="store_true", help="also compute the 2%% sequestration")
    p.add_argument("--dayfirst", action="store_true",
                   help="read slashed dates as day/month/year (default: month/day/year)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--no-edits", action="store_true", help="price every line as given: no duplicate-line, "
                                                           "NCCI PTP or MUE edits first")
    p.add_argument("--offline", action="store_true",
                   help="never download from CMS (this process and a local Dask cluster's workers)")
    from .engines import add_engine_options  # --engine stream|dask (large files, clusters)

    add_engine_options(p)
    p.set_defaults(func=run)
    return p


def read_lines(path: str | Path, sheet: str | int = 0) -> pd.DataFrame:
    """Read claim lines (CSV cells as text, exactly as written); see :func:`rvucalc.claims.io.read_claims`."""
    from ..claims.contract import LINE
    from ..claims.io import read_claims

    return read_claims(path, sheet=sheet).drop(columns=[LINE])


def summary_line(out: pd.DataFrame, setting: str = "pfs", target: str | None = None,
                 reprice: Any = None) -> str:
    """``"1,000 lines priced: 990 payable, 10 not payable (REPRICE_BAD_UNITS 6, ...)"``.

    Lines not payable are counted once each, by refusing reason (:mod:`rvucalc.claims.tally`),
    the same summary every engine prints. *reprice* (:func:`rvucalc.cli.engines.repricer_of`)
    lets it say the dollars the claim edits removed.
    """
    from ..claims.tally import LineTally, refusing_for

    return LineTally(refusing_for(setting), reprice=reprice)(out).text(out=target)


def run(args: argparse.Namespace) -> int:
    """Run ``rvucalc reprice``; returns the exit status (2 on a user error)."""
    from .engines import engine_of

    if getattr(args, "offline", False):  # as $RVUCALC_OFFLINE, which worker processes inherit
        os.environ["RVUCALC_OFFLINE"] = "1"
    try:
        check_targets(args, engine_of(args))
        from .engines import options_of

        options_of(args)  # a refused --cf says so before any line is read
    except (RvucalcError, ValueError, OSError) as exc:
        print(f"rvucalc reprice: {exc}", file=sys.stderr)
        return 2
    before = _signatures(args)
    try:
        return _run(args)
    except KeyboardInterrupt as exc:  # Ctrl-C, or SIGTERM (rvucalc.cli makes it raise Terminated)
        print(f"rvucalc reprice: {interrupted_message(args, before, exc)}", file=sys.stderr)
        return int(getattr(exc, "exit_status", 130))


def _run(args: argparse.Namespace) -> int:
    from ..atomic import check_output, output_group
    from ..claims import pipeline
    from ..claims.contract import LINE
    from ..claims.fits import check_outputs
    from ..claims.io import read_claims, to_arrow, write_claims, write_csv_table
    from ..claims.summary import summarise_claims
    from .engines import dispatch  # --engine stream|dask

    if (rc := dispatch(args)) is not None:
        if rc == 0:
            _say_what_if(args)
        return rc
    try:
        for target in (args.out, getattr(args, "claims_out", None)):
            if target:
                check_output(target, [args.input])
        lines = read_claims(args.input, sheet=args.sheet)
        from .engines import options_of

        opts = options_of(args)
        mapping = pipeline.check_columns(lines.columns, opts, args.input)  # errors name the file
        check_outputs(lines, args.out, getattr(args, "claims_out", None),  # cells the formats cannot hold
                      mapping.get("claim_id", "claim_id"))
        out = pipeline.price_frame(lines, opts)
        with output_group():  # -o and --claims-out: both new, or both as they were
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
    from .engines import repricer_of

    print(summary_line(out, getattr(args, "setting", "pfs"), args.out, reprice=repricer_of(args)), file=sys.stderr)
    _say_what_if(args)
    from .common import columns_note

    if note := columns_note(mapping):
        print(note, file=sys.stderr)
    return 0


def _say_what_if(args: argparse.Namespace) -> None:
    """One line on standard error when the lines were priced at a what-if CF (``--cf``)."""
    if getattr(args, "cf", None) is not None:
        print(f"what-if: priced at the conversion factor {args.cf} (each line's release_note says the CF)",
              file=sys.stderr)


#: Output suffixes each engine writes (the suffix chooses the format).
SUFFIXES = {"memory": (".csv", ".parquet", ".pq", ".xlsx"), "stream": (".csv", ".parquet", ".pq")}


def _targets(args: argparse.Namespace) -> list[tuple[str, str]]:
    """``[(option, path)]`` of the outputs asked for."""
    return [(opt, str(v)) for opt, v in (("-o", args.out), ("--claims-out", getattr(args, "claims_out", None)))
            if v]


def check_targets(args: argparse.Namespace, engine: str) -> None:
    """Refuse, before any work, outputs that would be lost or written in another format than asked.

    Raises :class:`rvucalc.atomic.OutputError` (one sentence) when ``--claims-out`` is the same
    file as ``-o`` or as the input, when an output's suffix is not one the engine writes (the
    suffix chooses the format: ``-o x.txt`` is refused, not written as CSV), or, with ``--engine
    dask`` (which writes a Parquet dataset, a folder), when an output is not a folder or
    ``.parquet`` name, or would replace the input's folder or lie inside it, or is an existing
    folder that is neither empty nor a dataset rvucalc wrote (:func:`rvucalc.datasets.check_target`),
    or when its input is a CSV or Excel file (it reads a Parquet dataset).
    """
    from ..atomic import OutputError, same_file
    from ..claims.fits import check_source

    targets = _targets(args)
    src = str(args.input)
    for opt, t in targets:
        if "://" not in src and "://" not in t and not any(ch in src for ch in "*?[") and same_file(t, src):
            raise OutputError(f"the output {opt} {t} is the input file {src}: choose another output name")
    if len(targets) == 2 and same_file(targets[0][1], targets[1][1]):
        raise OutputError(f"--claims-out {targets[1][1]} is the same file as -o {targets[0][1]}: the totals "
                          "would replace the priced lines; give them another name")
    if engine == "dask" and "://" not in src and Path(src).suffix.lower() in (".csv", ".txt", ".xlsx", ".xlsm"):
        raise OutputError(f"--engine dask reads a parquet dataset (a folder, a glob or a .parquet file), not "
                          f"{src}: write it as parquet first, or price it with --engine stream")
    for opt, t in targets:
        if engine == "dask":
            suffix = Path(t.rstrip("/")).suffix.lower()
            folder = t.endswith(("/", os.sep)) or Path(t).is_dir() or not suffix
            if not (folder or suffix in (".parquet", ".pq")):
                raise OutputError(f"--engine dask writes a parquet dataset (a folder of parts): give {opt} a "
                                  f"folder or a .parquet path, not {t}")
            from ..datasets import check_target

            check_target(t, src, f"the output {opt}")  # not the input, nor in it; only rvucalc's own folder
            continue
        ok = SUFFIXES["stream" if engine == "stream" else "memory"]
        if Path(t).suffix.lower() not in ok:
            names = ", ".join(ok)
            raise OutputError(f"cannot write {opt} {t}: the suffix chooses the format; give one of {names}"
                              + (" (--engine stream writes no Excel)" if engine == "stream" else ""))
    if engine != "dask":  # a Parquet input's column that the output format cannot hold
        check_source(src, targets + ([] if args.out else [("-o", "-")]))


def _signature(path: str) -> tuple[int, int] | None:
    try:
        st = os.stat(path)
    except OSError:
        return None
    return (st.st_ino, st.st_mtime_ns)


def _signatures(args: argparse.Namespace) -> dict[str, tuple[int, int] | None]:
    """Identity (inode, mtime) of each output before the run, to tell afterwards what was written."""
    return {t: _signature(t) for _, t in _targets(args)}


def interrupted_message(args: argparse.Namespace, before: dict[str, tuple[int, int] | None],
                        exc: BaseException) -> str:
    """``"interrupted; priced.csv not written"``: what an interrupt left of each output.

    Outputs are renamed into place whole (:mod:`rvucalc.atomic`), so each is either the
    previous file (or none) or the complete new one.
    """
    what = "terminated" if getattr(exc, "exit_status", 130) == 143 else "interrupted"
    said = []
    for t, old in before.items():
        new = _signature(t)
        if new != old and new is not None:
            said.append(f"{t} written")
        elif old is None:
            said.append(f"{t} not written")
        else:
            said.append(f"{t} left unchanged")
    return what + (f"; {', '.join(said)}" if said else "")


def _provenance(out: pd.DataFrame, args: argparse.Namespace) -> object:
    """The CMS files behind the releases used, for workbook provenance (as the Python path has),
    and the other files the lines were priced with (a facility's wage index table, county
    crosswalk: the priced frame's ``attrs["rvucalc.provenance"]``), so that the per-claim
    totals of ``--claims-out`` name them too."""
    from ..claims.pipeline import provenance

    used = [*provenance(out["release"].astype(str).unique(), getattr(args, "cf", None)),
            out.attrs.get("rvucalc.provenance")]
    return [x for x in used if x] or None


__all__ = ["SUFFIXES", "add_parser", "check_targets", "interrupted_message", "read_lines", "run",
           "summary_line"]
