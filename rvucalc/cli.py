"""Command line: ``rvucalc quote 20983 --zip 90012`` and friends.

Every subcommand prints a table for a person, or ``--json`` / ``--csv`` for
scripts. Errors print one plain sentence and exit with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from . import catalogue
from .errors import RvucalcError


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--year", type=int, help="calendar year (default: newest at hand)")
    p.add_argument("--release", help="release id from the catalogue, e.g. rvu26c (see 'rvucalc releases')")
    p.add_argument("--mirror", help="folder of CMS files (default: $RVUCALC_MIRROR)")
    p.add_argument("--qp", action="store_true", help="use the qualifying APM participant conversion factor")
    p.add_argument("--cf", type=float, help="what-if conversion factor in dollars per RVU")
    p.add_argument("--no-floor", action="store_true", help="use the work GPCI without the 1.0 floor")
    p.add_argument("--offline", action="store_true", help="never download from CMS")


def _where(p: argparse.ArgumentParser) -> None:
    g = p.add_mutually_exclusive_group()
    g.add_argument("--zip", help="5-digit ZIP code of the place of service")
    g.add_argument("--locality", help="MAC-locality id, e.g. 01182-18 (see 'rvucalc localities')")


def build_parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="rvucalc", description="What does Medicare pay for this service, here?")
    sub = ap.add_subparsers(dest="cmd", required=True)

    q = sub.add_parser("quote", help="price one HCPCS code (office and facility)")
    q.add_argument("code", help="HCPCS code, optionally with modifier: 20983, 71046-26")
    q.add_argument("--modifier", help="modifier with its own RVU row: 26, TC or 53")
    _where(q)
    _common(q)
    q.add_argument("--json", action="store_true", help="print JSON")

    s = sub.add_parser("schedule", help="price codes in every locality (a table)")
    s.add_argument("codes", nargs="*", help="HCPCS codes (default: the whole fee schedule)")
    s.add_argument("--localities", nargs="*", help="locality ids (default: all)")
    s.add_argument("--national", action="store_true", help="national amounts (GPCIs 1.0)")
    s.add_argument("--out", help="write to this file (.csv, .parquet or .xlsx)")
    s.add_argument("--csv", action="store_true", help="print CSV to standard output")
    _common(s)

    st = sub.add_parser("sites", help="office vs hospital outpatient vs ASC for one code")
    st.add_argument("code", help="HCPCS code, e.g. 20983")
    _where(st)
    st.add_argument("--cbsa", help="CBSA of the facility (wage index), e.g. 31084")
    st.add_argument("--county", help="5-digit county FIPS of the facility, e.g. 06037")
    st.add_argument("--wage-index", type=float, help="facility wage index given directly")
    st.add_argument("--opps-wage-index", type=float, help="the hospital's own IPPS wage index (Table 2)")
    st.add_argument("--ccn", help="the hospital's CCN, looked up in --ipps-table2")
    st.add_argument("--ipps-table2", help="path of CMS's IPPS Table 2 (wage index by CCN) for the year")
    _common(st)
    st.add_argument("--json", action="store_true", help="print JSON")
    st.add_argument("--csv", action="store_true", help="print CSV")

    lo = sub.add_parser("localities", help="list or search payment localities")
    lo.add_argument("search", nargs="?", help="text in the name, state or counties, or a ZIP code")
    _common(lo)
    lo.add_argument("--json", action="store_true")

    from . import cli_reprice, cli_workbench

    cli_reprice.add_parser(sub)
    cli_workbench.add_parsers(sub)

    r = sub.add_parser("releases", help="list the release catalogue")
    r.add_argument("--system", help="pfs, opps, asc, wage_index or zip5")

    f = sub.add_parser("fetch", help="download a release's files into the cache (or find them in the mirror)")
    f.add_argument("release", help="release id, e.g. rvu26a")
    f.add_argument("--mirror")
    f.add_argument("--offline", action="store_true",
                   help="only report what is at hand, never download (also: RVUCALC_OFFLINE=1)")
    return ap


def _load(a: argparse.Namespace):  # noqa: ANN202
    from .facade import load

    return load(a.year, a.release, mirror=a.mirror, qp=a.qp, conversion_factor=a.cf,
                work_floor=not a.no_floor, download=False if a.offline else None)


def cmd_quote(a: argparse.Namespace) -> int:
    fs = _load(a)
    q = fs.quote(a.code, a.modifier, zip=a.zip, locality=a.locality)
    print(q.model_dump_json(indent=2) if a.json else q)
    return 0


def cmd_schedule(a: argparse.Namespace) -> int:
    fs = _load(a)
    df = fs.schedule(a.codes or None, a.localities or None, national=a.national)
    if a.out:
        from .export import write_table

        write_table(df, a.out, provenance=fs)
        print(f"wrote {len(df):,} rows to {a.out}", file=sys.stderr)
    elif a.csv:
        df.to_csv(sys.stdout, index=False)
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", 60, "display.width", 140):
            print(df)
    return 0


def cmd_sites(a: argparse.Namespace) -> int:
    fs = _load(a)
    cmp = fs.compare_sites(a.code, zip=a.zip, locality=a.locality, cbsa=a.cbsa, county_fips=a.county,
                           wage_index=a.wage_index, opps_wage_index=a.opps_wage_index,
                           hospital_ccn=a.ccn, ipps_table2=a.ipps_table2)
    if a.json:
        print(cmp.model_dump_json(indent=2))
    elif a.csv:
        cmp.to_frame().to_csv(sys.stdout, index=False)
    else:
        print(cmp)
    return 0


def cmd_localities(a: argparse.Namespace) -> int:
    fs = _load(a)
    loc = fs.localities
    if a.search:
        term = a.search.strip()
        if term.isdigit() and len(term) == 5:
            lid = fs.resolve_locality(zip=term)
            loc = loc[loc["locality_id"] == lid]
        else:
            t = term.upper()
            hay = (loc["locality_id"] + " " + loc["state"] + " " + loc["locality_name"] + " "
                   + loc.get("state_name", "") + " " + loc.get("counties", "")).str.upper()
            loc = loc[hay.str.contains(t, regex=False)]
    cols = ["locality_id", "state", "locality_name", "work_gpci", "pe_gpci", "mp_gpci", "counties"]
    if a.json:
        print(json.dumps(loc[cols].to_dict(orient="records"), indent=2))
    else:
        import pandas as pd

        with pd.option_context("display.max_rows", 200, "display.width", 160, "display.max_colwidth", 50):
            print(loc[cols].to_string(index=False))
    return 0


def cmd_releases(a: argparse.Namespace) -> int:
    for r in catalogue.releases(a.system):
        print(f"{r.id:<16} {r.system:<11} {r.label}")
    return 0


def cmd_fetch(a: argparse.Namespace) -> int:
    """Find or download every table of a release; say for each whether its sha256 is verified.

    Downloads are off with ``--offline`` or ``$RVUCALC_OFFLINE``: then only
    what is at hand is listed, and the exit status is 1 if anything is missing.
    """
    from .errors import ChecksumError, DownloadError, MissingFileError
    from .fetch import locate, offline

    rel = catalogue.get(a.release)
    download = not (a.offline or offline())
    missing = 0
    for table in rel.files:
        try:
            loc = locate(rel, table, mirror=a.mirror, download=download)
        except (MissingFileError, DownloadError) as exc:
            missing += 1
            what = "REFUSED" if isinstance(exc, ChecksumError) else "not available"
            print(f"{table:<12} {what}: {exc}", file=sys.stderr)
            continue
        if loc.verified:
            trust = "sha256 verified"
        elif loc.tofu:
            trust = (f"UNVERIFIED (no CMS checksum; sha256 {loc.sha256[:12]} recorded at first download"
                     f"{' on ' + loc.tofu_date if loc.tofu_date else ''}, trust on first use)")
        else:
            trust = f"UNVERIFIED (no CMS checksum in the catalogue), sha256 {loc.sha256[:12]}"
        print(f"{table:<12} {loc.path}  ({loc.origin}, {trust})")
    return 1 if missing else 0


COMMANDS = {"quote": cmd_quote, "sites": cmd_sites, "schedule": cmd_schedule, "localities": cmd_localities,
            "releases": cmd_releases, "fetch": cmd_fetch}


def main(argv: Sequence[str] | None = None) -> int:
    ap = build_parser()
    a = ap.parse_args(argv)
    try:
        if a.cmd == "reprice":
            from . import cli_reprice

            return cli_reprice.run(a)
        if a.cmd in COMMANDS:
            return COMMANDS[a.cmd](a)
        from . import cli_workbench

        return cli_workbench.COMMANDS[a.cmd](a)
    except RvucalcError as exc:
        print(f"rvucalc: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # output piped into e.g. `head`, which stopped reading
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
