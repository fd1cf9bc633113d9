"""Command line: ``rvucalc quote 20983 --zip 90012`` and friends.

Every subcommand prints tables for a person (:mod:`rvucalc.render`: rich on a
terminal, tab-separated text when piped), or ``--json`` / ``--csv`` for
scripts. Options shared by several commands are declared once
(:mod:`rvucalc.cli.common`).

Exit status: 0 done; 1 a search or filter matched nothing ("no match: ..." on
standard error); 2 an error (one plain sentence on standard error: a bad code,
option or file, a release that is not at hand).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Iterator, Sequence

from .. import arguments
from ..errors import RvucalcError
from .common import (
    NoMatch,
    checked,
    mirror_options,
    no_match,
    output_options,
    place_options,
    pricing_options,
    release_options,
)
from .data import cmd_fetch, cmd_releases
from .pricing import cmd_anes, cmd_localities, cmd_quote, cmd_schedule, cmd_sites


def _minutes(text: str, name: str) -> float | None:
    return arguments.non_negative_number(text, name, "anesthesia time in minutes (0 or more)")


def _base_units(text: str, name: str) -> float | None:
    return arguments.non_negative_number(text, name, "the code's base units (0 or more), e.g. 7")


SYSTEMS = ("pfs", "opps", "asc", "wage_index", "zip5", "anes_base", "ncci_ptp", "ncci_mue")


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    ap = argparse.ArgumentParser(prog="rvucalc", description="What does Medicare pay for this service, here?")
    ap.add_argument("--version", action="version", version=f"rvucalc {__version__}")
    sub = ap.add_subparsers(dest="cmd", required=True)
    rel, price, place = release_options(), pricing_options(), place_options()

    q = sub.add_parser("quote", parents=[place, rel, price, output_options()],
                       help="price HCPCS codes, office and facility",
                       description="Price one or more codes nationally or in one place. "
                                   "Example: rvucalc quote 20983 99213 77013 --zip 90012")
    q.add_argument("codes", nargs="+", metavar="code",
                   help="HCPCS code, optionally with modifier: 20983, 71046-26, 99213-25")
    q.add_argument("--modifier", help="modifier for every code: 26, TC, 53 (own rows) or one with no price "
                                      "effect (25, 59, LT ...)")
    q.add_argument("--rural", choices=("Y", "N", "y", "n"), help="DME (DMEPOS) codes: whether the beneficiary's "
                   "ZIP code is a rural area (Y/N); never assumed, a DME fee that differs is not given without it")

    s = sub.add_parser("schedule", parents=[rel, price, output_options(out=True)],
                       help="price codes in every locality (a table)",
                       description="Example: rvucalc schedule 99213 20983 --national")
    s.add_argument("codes", nargs="*", help="HCPCS codes (default: the whole fee schedule)")
    s.add_argument("--localities", nargs="*", help="locality ids (default: all)")
    s.add_argument("--national", action="store_true", help="national amounts (GPCIs 1.0)")
    s.add_argument("--rural", choices=("Y", "N", "y", "n"), help="DME (DMEPOS) codes: rural area (Y) or not (N); "
                   "never assumed")
    s.add_argument("--limit", type=int, default=300, help="rows shown in the terminal (default 300)")

    st = sub.add_parser("sites", parents=[place_options(county=False, repeat=True), rel, price, output_options()],
                        help="office vs hospital outpatient vs ASC for one code, many codes in many places "
                             "(--codes), or each claim of a file (--claims)",
                        description="Example: rvucalc sites 20983 --zip 90012 --county 06037. --zip/--locality "
                                    "place the physician (PFS locality); --cbsa/--county the facility (wage "
                                    "index); --county alone places both; --zip alone places the facility too when its locality "
                                    "lies in one CBSA (else the facility rate is national, with the reason). Many codes in many places: rvucalc "
                                    "sites --codes 20983 29881 45378 --zip 90012 --zip 10001 --county 06037 "
                                    "-o sites.xlsx (each --zip, --locality and --county is then a place of "
                                    "its own; the workbook has a sheet per place and a chart per code).")
    st.add_argument("code", nargs="?", help="HCPCS code, e.g. 20983")
    st.add_argument("--codes", nargs="+", metavar="CODE", help="several HCPCS codes, compared in every place given")
    st.add_argument("--claims", help="claim lines (.csv, .parquet, .xlsx): price each claim in the "
                    "three settings, with a book summary")
    st.add_argument("--line-sheets", action="store_true",
                    help="with --claims -o sites.xlsx: also a sheet of line results per setting and part (the "
                         "workbook has the book summary and one row per claim by default)")
    st.add_argument("--no-clinic-visit", action="store_true",
                    help="with --claims: do not add the hospital's clinic visit (G0463) to E/M visits moved to "
                         "the hospital outpatient department (added by default; CY2014 OPPS final rule)")
    from .common import add_columns_option

    add_columns_option(st)  # --columns claim_id=CLM_ID,...: the headers of the --claims file
    st.add_argument("-o", "--out", help="write the comparison: .xlsx (a workbook; with --claims: summary, "
                    "claims and line sheets), .csv, .parquet or .json (a row per setting; with --claims "
                    "a row per claim)")
    fac = st.add_argument_group("where the facility is (wage index)")
    fac.add_argument("--cbsa", help="CBSA of the facility, e.g. 31084")
    fac.add_argument("--county", action="append", help="5-digit county FIPS of the facility, e.g. 06037; "
                     "without --zip or --locality it also places the physician (PFS locality)")
    fac.add_argument("--wage-index", type=checked(arguments.wage_index, "--wage-index"),
                     help="facility wage index given directly")
    fac.add_argument("--opps-wage-index", type=checked(arguments.wage_index, "--opps-wage-index"),
                     help="the hospital's own IPPS wage index (Table 2)")
    fac.add_argument("--ccn", help="the hospital's CCN, looked up in --ipps-table2")
    fac.add_argument("--ipps-table2", help="path of CMS's IPPS Table 2 (wage index by CCN) for the year")
    fac.add_argument("--asc-cf", metavar="CF", help="what-if ASC conversion factor: dollars (55.0) or a percent of "
                     "the ASC release's CF (102%%); --cf moves the physician (PFS) amounts only")

    lo = sub.add_parser("localities", parents=[place, rel, output_options()],
                        help="list or search payment localities",
                        description="Search by name, state or county name; or give --zip or --county. A bare "
                                    "5-digit number is shown both as a ZIP code and as a county FIPS code.")
    lo.add_argument("search", nargs="?", help="text in the name, state or counties (or a 5-digit number)")

    an = sub.add_parser("anes", parents=[place, rel, pricing_options(cf=False), output_options()],
                        help="price an anesthesia service (base + time units x anesthesia CF)",
                        description="Example: rvucalc anes 00400 --minutes 90 --base-units 7 --zip 90012 "
                                    "--modifier QK")
    an.add_argument("code", help="anesthesia code 00100-01999, optionally with modifier: 00400-QK")
    an.add_argument("--minutes", type=checked(_minutes, "--minutes"), help="anesthesia time in minutes (time units = minutes / 15)")
    an.add_argument("--base-units", type=checked(_base_units, "--base-units"),
                    help="base units of the code (default: CMS's base-unit file, when at hand)")
    an.add_argument("--modifier", help="AA, QZ (100%%), QK, QY, QX (50%%) or AD (3 base units)")
    an.add_argument("--present-at-induction", action="store_true", help="AD: add 1 time unit")

    from . import reprice as cli_reprice
    from . import workbench as cli_workbench

    cli_reprice.add_parser(sub)
    cli_workbench.add_parsers(sub)
    from . import contract as cli_contract  # rvucalc contract (payer contracts)

    cli_contract.add_parser(sub)

    r = sub.add_parser("releases", parents=[mirror_options()],
                       help="list the release catalogue, and which releases are at hand (mirror or cache) "
                            "and which must be fetched")
    r.add_argument("--system", choices=SYSTEMS, help="only this payment system's releases")

    f = sub.add_parser("fetch", parents=[release_options(year=False)],
                       help="download a release's files into the cache (or find them in the mirror)")
    f.add_argument("release", help="release id, e.g. rvu26a")
    return ap



COMMANDS = {"quote": cmd_quote, "sites": cmd_sites, "schedule": cmd_schedule, "localities": cmd_localities,
            "releases": cmd_releases, "fetch": cmd_fetch, "anes": cmd_anes}


class Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread by the command line's handler (:func:`main`).

    A subclass of :class:`KeyboardInterrupt`, so a SIGTERM runs the same cleanup as Ctrl-C
    (``finally`` blocks: temporary files and folders removed); the exit status is 143.
    """

    exit_status = 143


def _raise_terminated(signum: int, frame: object) -> None:
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # a second SIGTERM does not cut the cleanup short
    raise Terminated()


@contextlib.contextmanager
def _sigterm_raises() -> Iterator[None]:
    """While the command runs, SIGTERM raises :class:`Terminated` (the CLI only, never on import)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status.

    Ctrl-C (SIGINT) and SIGTERM stop a command with one line on standard error and exit
    status 130 and 143; cleanup runs as on an error (outputs are never left half-written).
    """
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        with _sigterm_raises():
            return _main(a)
    except KeyboardInterrupt as exc:
        print("rvucalc: " + ("terminated" if isinstance(exc, Terminated) else "interrupted"), file=sys.stderr)
        return int(getattr(exc, "exit_status", 130))


def _main(a: argparse.Namespace) -> int:
    try:
        if a.cmd == "reprice":
            from . import reprice as cli_reprice

            return cli_reprice.run(a)
        if a.cmd == "contract":
            return a.func(a)
        if a.cmd in COMMANDS:
            return COMMANDS[a.cmd](a)
        from . import workbench as cli_workbench

        return cli_workbench.COMMANDS[a.cmd](a)
    except NoMatch as exc:
        return no_match(str(exc))
    except RvucalcError as exc:
        print(f"rvucalc: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
