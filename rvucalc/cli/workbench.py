"""Command line: ``rvucalc compare`` and ``rvucalc diff`` (the analyst's workbench).

Wired into :mod:`rvucalc.cli` by ``add_parsers(subparsers)`` and
:data:`COMMANDS`. Each command prints a table for a person, ``--csv`` /
``--json`` for scripts, or writes ``--out`` (.xlsx workbook with summary,
chart and provenance; .csv; .parquet; .json). Errors are raised as
:class:`rvucalc.errors.RvucalcError` for ``cli.main`` to print.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from ..errors import RvucalcError
from ..render import Table, emit
from .common import output_options, pricing_options, release_options


def _parents(*, release_flags: bool = True) -> list[argparse.ArgumentParser]:
    """The shared option groups (declared once in :mod:`rvucalc.cli.common`)."""
    return [release_options(year=release_flags), pricing_options(),
            output_options(out=True, title=True)]


def add_parsers(subparsers: Any) -> None:
    """Add the ``compare`` and ``diff`` subcommands to *subparsers* (from ``add_subparsers``)."""
    c = subparsers.add_parser(
        "compare", parents=_parents(), help="codes x localities: office and facility amounts (Excel workbook with --out)",
        description="Compare PFS office (non-facility) and facility amounts of codes across localities. "
                    "Example: rvucalc compare 20983 77013 --localities CA --out rates.xlsx")
    c.add_argument("codes", nargs="+", help="HCPCS codes, optionally with modifier: 20983 71046-26")
    c.add_argument("--localities", nargs="*",
                   help="locality ids (01182-18), two-letter states (CA: all its localities) or 'all' "
                        "(default: all 109)")
    c.add_argument("--state", nargs="*", help="two-letter states whose localities are compared")
    c.add_argument("--rural", choices=("Y", "N", "y", "n"), help="DME (DMEPOS) codes: rural area (Y) or not (N); "
                   "never assumed")
    c.add_argument("--no-national", action="store_true", help="leave out the national row")

    d = subparsers.add_parser(
        "diff", parents=_parents(release_flags=False), help="what changed between two PFS releases or years",
        description="Codes added, deleted and changed between two PFS releases, with % change; --cf prices "
                    "the newer side at a what-if CF (98.8% of its own CF, or dollars), so 'diff 2026 2026 "
                    "--cf 98.8%' is this year's RVUs at a projected CF. "
                    "Example: rvucalc diff 2025 2026  or  rvucalc diff rvu25d rvu26c --out diff.xlsx")
    d.add_argument("old", help="the earlier year (2025) or release id (rvu25d)")
    d.add_argument("new", help="the later year (2026) or release id (rvu26c)")
    d.add_argument("--codes", nargs="*", help="only these HCPCS codes")
    d.add_argument("--localities", nargs="*", help="also compare payments in these localities (or 'all')")
    d.add_argument("--all", action="store_true", help="include unchanged codes in the output")
    d.add_argument("--limit", type=int, default=25, help="rows shown in the terminal (default 25)")
    d.add_argument("--sort", choices=("increase", "decrease", "abs"), default="abs",
                   help="largest increases, decreases or either first (default abs)")
    d.add_argument("--by", choices=("pct", "dollars"), default="pct", help="sort by percent or dollars (default pct)")
    d.add_argument("--volumes", metavar="FILE", help="a volume table (hcpcs, modifier, locality/zip, setting, "
                   "count; CSV, Excel or Parquet): the book's revenue change and its causes")


def _load(spec: str | None, a: argparse.Namespace, year: int | None = None, *, what_if: bool = True) -> Any:
    """The release *spec* (a year or a release id) with *a*'s options; ``--cf`` only when *what_if*."""
    from .common import load_args

    cf = getattr(a, "cf", None) if what_if else None
    if spec is None:
        return load_args(a, year=year, cf=cf)
    s = str(spec).strip()
    if s.isdigit() and len(s) == 4:
        return load_args(a, year=int(s), cf=cf)
    return load_args(a, release=s.lower(), cf=cf)


def _cf_words(fs: Any) -> str:
    """``CF $33.4009`` or, for a what-if, ``CF $33.0001, what-if (user): 98.8% of $33.4009 ...``."""
    from ..whatif import WHAT_IF

    kind = str(fs.conversion_factor_kind)
    return f"CF ${fs.conversion_factor:.4f}" + (f", {kind}" if kind.startswith(WHAT_IF) else "")


def _emit(df: pd.DataFrame, a: argparse.Namespace, *, provenance: Any, title: str,
          show: Callable[[pd.DataFrame], None]) -> None:
    from ..export import neutralise, write_table

    if a.out:
        write_table(df, a.out, provenance=provenance, title=a.title or title)
        print(f"wrote {len(df):,} rows to {a.out}", file=sys.stderr)
    elif a.csv:
        neutralise(df).to_csv(sys.stdout, index=False)
    elif a.json:
        print(df.to_json(orient="records", indent=2))
    else:
        show(df)


def _money(v: Any) -> str:
    return "-" if v is None or (isinstance(v, float) and v != v) else f"${v:,.2f}"


def cmd_compare(a: argparse.Namespace) -> int:
    """``rvucalc compare 20983 77013 --localities CA --out rates.xlsx``."""
    from ..export import compare, pivot, summary_spec

    fs = _load(a.release, a, a.year)
    df = compare(fs, a.codes, a.localities if a.localities else None, state=a.state or None,
                 national=not a.no_national, rural=a.rural.upper() if a.rural else None)
    if fs.what_if is not None:  # said on the workbook's Summary and Provenance sheets too
        df.attrs["rvucalc.notes"] = [*df.attrs.get("rvucalc.notes", []),
                                     f"what-if: priced at {_cf_words(fs)}"]

    def show(df: pd.DataFrame) -> None:
        spec = summary_spec(df)
        assert spec is not None
        table, labels = pivot(df, spec)
        # full locality names: the renderer wraps long text, so no two rows read the same
        if len(labels) <= 2:  # one code: a row per locality, office and facility side by side
            for lab in labels:
                table[lab] = table[lab].map(_money)
            t = Table.from_frame(table.astype(str), numeric=list(labels))
        else:  # several codes: a row per code and locality, so the table stays narrow
            code = df["hcpcs"].astype(str) + np.where(df["modifier"].astype(str) != "",
                                                      "-" + df["modifier"].astype(str), "")
            long = pd.DataFrame({"code": code, "locality_id": df["locality_id"].astype(str),
                                 "state": df["state"].astype(str), "locality_name": df["locality_name"].astype(str),
                                 "office": df["nonfacility"].map(_money), "facility": df["facility"].map(_money)})
            t = Table.from_frame(long, numeric=["office", "facility"])
        notes: list[str] = []
        other = df.loc[df["fee_schedule"].astype(str) != "pfs", ["hcpcs", "modifier", "fee_schedule", "release"]] \
            if "fee_schedule" in df else df.iloc[:0]
        for r in other.drop_duplicates().itertuples(index=False):  # lab, drug, DME codes: a few
            code = f"{r.hcpcs}-{r.modifier}" if r.modifier else r.hcpcs
            notes.append(f"{code}: {str(r.fee_schedule).upper()}, not the PFS (release {r.release}; per unit)")
        reasons = df.loc[(df["nonfacility_reason"] != "") | (df["facility_reason"] != ""),
                         ["hcpcs", "modifier", "nonfacility_reason", "facility_reason"]].drop_duplicates()
        if len(reasons):
            from ..reasons import explain

            notes.append("no amount ('-'):")
            for r in reasons.itertuples(index=False):
                code = f"{r.hcpcs}-{r.modifier}" if r.modifier else r.hcpcs
                for rc in dict.fromkeys(x for x in (r.nonfacility_reason, r.facility_reason) if x):
                    why = explain(rc)
                    notes.append(f"  {code}: {why.message if why else rc} [{rc}]")
        emit(f"{fs.release.label}; CF ${fs.conversion_factor:.4f} ({fs.conversion_factor_kind})", t,
             *(["\n".join(notes)] if notes else []))

    _emit(df, a, provenance=fs, title=f"PFS amounts by locality, {fs.release.label}", show=show)
    return 0


def cmd_diff(a: argparse.Namespace) -> int:
    """``rvucalc diff 2025 2026`` (years or release ids)."""
    from ..diff import cause_text, diff, notes_of, sort_changes, summarize

    if str(a.old).lower().startswith(("opps-", "asc-")):
        if getattr(a, "cf", None) is not None:
            raise RvucalcError("--cf is a what-if PFS conversion factor; OPPS and ASC rates have conversion "
                               "factors of their own, which it does not move: leave --cf out of a facility diff")
        return _diff_facility(a)
    # a what-if CF prices the newer side only: this year as published against a projection
    old, new = _load(a.old, a, what_if=False), _load(a.new, a)
    if old.release.id == new.release.id and new.what_if is None:
        raise RvucalcError(f"both sides are the same release ({old.release.id}); give two different "
                           "years or release ids, or a what-if --cf for the newer side")
    if a.volumes:
        return _diff_book(a, old, new)
    df = diff(old, new, localities=a.localities or None, codes=a.codes or None, changed_only=not a.all)
    if new.what_if is not None:  # said on the workbook's Summary and Provenance sheets too
        df.attrs["rvucalc.notes"] = [*df.attrs.get("rvucalc.notes", []), (
            f"what-if: the newer side ({new.release.id}) is priced at {_cf_words(new)}; the older side "
            f"({old.release.id}) at its own CF ${old.conversion_factor:.4f}")]
    if df.empty:
        from .common import NoMatch

        what = f"codes {' '.join(a.codes)}" if a.codes else "codes"
        raise NoMatch(f"no {what} changed between {old.release.id} and {new.release.id}"
                      + ("" if a.all else " (--all shows unchanged codes too)"))

    def show(df: pd.DataFrame) -> None:
        head = f"{old.release.label} ({_cf_words(old)}) -> {new.release.label} ({_cf_words(new)})"
        summary = summarize(df)
        cols = ["hcpcs", "modifier", "locality_id", "change", "nonfacility_old", "nonfacility_new",
                "nonfacility_change", "nonfacility_pct", "facility_old", "facility_new", "facility_pct",
                "changed_fields"]
        t = sort_changes(df, a.sort, a.by).head(a.limit)
        t = t[cols].assign(causes=cause_text(t).to_numpy())
        for c in ("nonfacility_old", "nonfacility_new", "facility_old", "facility_new", "nonfacility_change"):
            t[c] = t[c].map(_money)
        for c in ("nonfacility_pct", "facility_pct"):
            t[c] = t[c].map(lambda v: "-" if v != v else f"{v:+.2f}%")
        code = t["hcpcs"].astype(str) + np.where(t["modifier"].astype(str) != "", "-" + t["modifier"].astype(str), "")
        shown = pd.DataFrame({"code": code})
        if t["locality_id"].nunique() > 1:
            shown["place"] = t["locality_id"].astype(str).to_numpy()
        names = {"change": "change", "nonfacility_old": "office old", "nonfacility_new": "office new",
                 "nonfacility_change": "office $", "nonfacility_pct": "office %",
                 "causes": "office: largest causes", "facility_old": "facility old",
                 "facility_new": "facility new", "facility_pct": "facility %", "changed_fields": "changed fields"}
        for c, label in names.items():
            shown[label] = t[c].astype(str).to_numpy()
        shown["changed fields"] = shown["changed fields"].str.replace(",", ", ").str.replace("  ", " ")
        num = ["office old", "office new", "office $", "office %", "facility old", "facility new", "facility %"]
        t = shown
        emit(head, Table.from_frame(summary.astype(str), numeric=[c for c in summary.columns if c != "locality_id"],
                                    title="codes by change"),
             Table.from_frame(t, numeric=num,
                              title=f"office (non-facility) changes, {a.sort} by {a.by} (first {a.limit}; "
                                    "--csv/--json/--out for all)"),
             *df.attrs.get("rvucalc.notes", []), *notes_of(df))

    _emit(df, a, provenance=[old, new], title=f"PFS changes {old.release.id} -> {new.release.id}", show=show)
    return 0


def _diff_book(a: argparse.Namespace, old: Any, new: Any) -> int:
    """``rvucalc diff 2025 2026 --volumes book.csv``: the book's revenue change and its causes."""
    from ..claims.contract import LINE
    from ..claims.io import read_claims
    from ..diff import book_causes, diff_volumes

    d = diff_volumes(old, new, read_claims(a.volumes).drop(columns=LINE))
    causes = book_causes(d)

    def show(d: pd.DataFrame) -> None:
        t = causes[causes["dollars"] != 0].assign(dollars=lambda x: x["dollars"].map(_money),
                                                  share=lambda x: x["share"].map("{:.2f}%".format))
        emit(f"{len(d):,} lines: revenue {_money(d['revenue_old'].sum())} ({old.release.label}) -> "
             f"{_money(d['revenue_new'].sum())} ({new.release.label})",
             Table.from_frame(t[["cause", "dollars", "share"]].astype(str), numeric=["dollars", "share"],
                              title="revenue change by cause (--csv/--json/--out for every line)"),
             *[f"note: {x}" for x in d.attrs.get("rvucalc.decomposition_notes", [])])

    _emit(d, a, provenance=[old, new], title=f"Book {old.release.id} -> {new.release.id}",
          show=show)
    return 0


def _diff_facility(a: argparse.Namespace) -> int:
    """``rvucalc diff opps-2024-01 opps-2025-01`` (or two ASC releases): rates and their causes."""
    from ..calc.decompose import RATE_PARTS
    from ..diff import cause_text, sort_changes
    from ..facility_diff import facility_release_diff

    d = facility_release_diff(a.old, a.new, mirror=a.mirror, download=False if a.offline else None,
                              codes=a.codes or None, changed_only=not a.all)

    def show(d: pd.DataFrame) -> None:
        t = sort_changes(d, a.sort, a.by, setting="rate").head(a.limit)
        ind = "status_indicator" if "status_indicator_old" in t else "payment_indicator"
        shown = pd.DataFrame({"code": t["hcpcs"], "change": t["change"],
                              "indicator": t[f"{ind}_old"].fillna("").astype(str) + " -> "
                              + t[f"{ind}_new"].fillna("").astype(str),
                              "rate old": t["payment_rate_old"].map(_money),
                              "rate new": t["payment_rate_new"].map(_money), "$": t["rate_change"].map(_money),
                              "%": t["rate_pct"].map(lambda v: "-" if v != v else f"{v:+.2f}%"),
                              "largest causes": cause_text(t, prefix="from_", parts=RATE_PARTS).to_numpy()})
        if "apc_old" in t:
            shown.insert(3, "APC", np.where(t["apc_moved"].fillna(False).astype(bool),
                                            t["apc_old"].astype(str) + " -> " + t["apc_new"].astype(str),
                                            t["apc_new"].fillna(t["apc_old"]).fillna("").astype(str)))
        counts = d["change"].value_counts().rename_axis("change").reset_index()
        emit(f"{a.old} -> {a.new}: {d.attrs['rvucalc.provenance']['parameters']['conversion factors']}",
             Table.from_frame(counts.astype(str), numeric=["count"], title="codes by change"),
             Table.from_frame(shown, numeric=["rate old", "rate new", "$", "%"],
                              title=f"rate changes, {a.sort} by {a.by} (first {a.limit}; --csv/--json/--out for all)"))

    _emit(d, a, provenance=None, title=f"{a.old} -> {a.new}", show=show)
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {"compare": cmd_compare, "diff": cmd_diff}

__all__ = ["COMMANDS", "add_parsers", "cmd_compare", "cmd_diff"]
