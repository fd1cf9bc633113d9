"""The workbook of many codes in many places (:func:`rvucalc.sites.compare_sites_many`).

Sheets: ``Summary`` (where each place is: PFS locality, facility placement), one sheet per
place (a row per code, for each setting its professional, facility, total and beneficiary
amounts), ``Charts`` (a row per place, each code's totals by setting, and one native chart
per code: places on the axis, a bar per setting), the tidy ``Detail`` frame and
``Provenance``. Every code gets a chart, or the Charts sheet says which codes were left
out and why (no amount in any setting and place, with the reasons).
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Mapping, Sequence

import pandas as pd

from .formats import CURRENCY_FORMAT
from .layout import (
    KIND_SHEETS,
    Chart,
    Row,
    Sheet,
    Summary,
    Table,
    _subtitle,
    as_written,
    formats_of,
    pivot,
)
from .provenance import Provenance

#: Amounts per setting on a place's sheet.
VALUES = ("professional", "facility", "total", "beneficiary")
SITE_LABELS = {"office": "Office", "hopd": "Hospital outpatient", "asc": "ASC"}
#: Most charts on the Charts sheet (one per code); codes beyond are named in a note.
MAX_CHARTS = 200


def is_sites_many(df: pd.DataFrame) -> bool:
    return str(df.attrs.get("rvucalc.kind", "")) == "sites_many"


def _money_formats(table: pd.DataFrame, labels: Mapping[str, str]) -> dict[str, str | None]:
    fmts: dict[str, str | None] = {c: None for c in table.columns}
    fmts.update({lab: CURRENCY_FORMAT for lab in labels})
    return fmts


def place_sheets(df: pd.DataFrame) -> list[Sheet]:
    """One sheet per place: a row per code, ``<site> <amount>`` columns (settings in office,
    hopd, asc order), then the reason codes of the settings with no total."""
    out = []
    for place, part in df.groupby("place", sort=False):
        table, labels = pivot(part, Summary(index=("hcpcs",), columns=("site",), values=VALUES))
        table.columns = [_label(c) for c in table.columns]
        labels = {_label(k): v for k, v in labels.items()}
        no_total = part[part["total"].isna()]
        why = (no_total["site"].map(SITE_LABELS) + ": " + no_total["reason"].astype(str))
        reasons = why.groupby(no_total["hcpcs"], sort=False).agg("; ".join)
        table["no total (reason codes)"] = table["hcpcs"].map(reasons).fillna("").to_numpy()
        first = part.iloc[0]
        notes = [f"PFS locality: {first['locality_id']} {first['locality_name']} ({first['pfs_placement']})"]
        for site in ("hopd", "asc"):
            fp = part.loc[part["site"] == site, "facility_placement"]
            if len(fp) and str(fp.iloc[0]):
                notes.append(f"{SITE_LABELS[site]} facility placed: {fp.iloc[0]}")
        fmts = _money_formats(table, labels)
        out.append(Sheet(str(place), [Row([f"{place}: where it is done, what Medicare pays"], "title"),
                                      *[Row([n], "note") for n in notes],
                                      Table(as_written(table, fmts), fmts, freeze_cols=1)], freeze="main"))
    return out


def _label(c: str) -> str:
    head, _, rest = str(c).partition(" ")
    return f"{SITE_LABELS[head]} {rest}" if head in SITE_LABELS and rest else str(c)


def chart_sheet(df: pd.DataFrame) -> Sheet:
    """A row per place, each code's total per setting, and one chart per code."""
    table, labels = pivot(df, Summary(index=("place",), columns=("hcpcs", "site"), values=("total",)))
    keys = table.attrs.get("rvucalc.label_keys", {})
    by_code: dict[str, list[str]] = {}
    for lab, ck in keys.items():
        by_code.setdefault(str(ck[0]), []).append(lab)
    charts: list[Chart] = []
    left: list[str] = []
    for code, labs in by_code.items():
        drawn = [lab for lab in labs if table[lab].notna().any()]
        if not drawn:
            rows = df[df["hcpcs"] == code]
            why = "; ".join(dict.fromkeys(x for r in rows["reason"].astype(str) for x in r.split("|") if x))
            left.append(f"{code}: no total in any setting or place ({why or 'no reason given'})")
            continue
        if len(charts) == MAX_CHARTS:
            left.append(f"{code}: more than {MAX_CHARTS} codes; its totals are in the table")
            continue
        names = [SITE_LABELS.get(str(keys[lab][1]), str(keys[lab][1])) for lab in drawn]
        charts.append(Chart(table="main", values=drawn, categories="place", title=f"{code}: total by place",
                            value_title="Total ($)", category_title="Place", series_names=names))
    table.columns = [str(c) for c in table.columns]
    fmts = _money_formats(table, labels)
    head = [Row(["Totals by place: one chart per code (a bar per setting)"], "title")]
    if left:
        head.append(Row([f"{len(left)} of {len(by_code)} codes have no chart:"], "note"))
        head += [Row([x], "note") for x in left]
    else:
        head.append(Row([f"all {len(by_code)} codes charted"], "note"))
    return Sheet("Charts", [*head, Table(as_written(table, fmts), fmts, freeze_cols=1)], freeze="main",
                 charts=charts)


def summary_sheet(df: pd.DataFrame, heading: str, prov: Provenance, written: _dt.datetime,
                  notes: Sequence[str]) -> Sheet:
    """Where each place is, and how many codes have a total per setting there."""
    first = df.drop_duplicates("place")[["place", "place_kind", "locality_id", "locality_name",
                                         "pfs_placement"]].reset_index(drop=True)
    counts = df.assign(has=df["total"].notna()).pivot_table(index="place", columns="site", values="has",
                                                            aggfunc="sum", sort=False)
    for site in ("office", "hopd", "asc"):
        if site in counts.columns:
            first[f"codes with a total: {SITE_LABELS[site]}"] = first["place"].map(counts[site]).astype(int)
    fp = df[df["site"].isin(["hopd", "asc"])].drop_duplicates(["place", "site"])
    for site in ("hopd", "asc"):
        m = fp[fp["site"] == site].set_index("place")["facility_placement"]
        first[f"{SITE_LABELS[site]} facility placed"] = first["place"].map(m).fillna("").to_numpy()
    fmts = formats_of(first)
    codes = df["hcpcs"].nunique()
    top = [Row([heading], "title"),
           Row([_subtitle(len(df), prov, written)], "note"),
           Row([f"{codes} codes x {len(first)} places x 3 settings: a sheet per place, a chart per code "
                "on the Charts sheet, every row on the Detail sheet"], "note"),
           *[Row([n], "note") for n in notes]]
    return Sheet("Summary", [*top, Table(as_written(first, fmts), fmts, freeze_cols=1)], freeze="main")


def sheets(df: pd.DataFrame, heading: str, prov: Provenance, written: _dt.datetime, notes: Sequence[str],
           chart: bool) -> list[Sheet]:
    """Summary, a sheet per place and (with *chart*) Charts; the Detail and Provenance sheets follow."""
    out = [summary_sheet(df, heading, prov, written, notes), *place_sheets(df)]
    return out + [chart_sheet(df)] if chart else out


KIND_SHEETS["sites_many"] = sheets

__all__ = ["MAX_CHARTS", "sheets", "chart_sheet", "is_sites_many", "place_sheets", "summary_sheet"]
