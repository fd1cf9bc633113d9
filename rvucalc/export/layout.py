"""What goes on which sheet of a workbook: summaries, detail sheets, charts and provenance.

This module decides the content; :mod:`rvucalc.export.writer` turns the plan
(a list of :class:`Sheet`) into bytes. Nothing here writes a file.

Workbook kinds (chosen from the frame's columns, or ``attrs["rvucalc.kind"]``):

``reprice`` (claim lines: ``claim_id``, ``allowed``, ``payable``...)
    *Summary*: key figures, each a count, sum or mean labelled as such, and
    the sums per code (with a chart); *By code and locality*: sums per code x
    locality; *Claims*: per-claim totals; *Detail*: the lines as given plus
    rvucalc's columns; *Provenance*.
``schedule`` (``hcpcs``, ``locality_id``, ``setting``, ``amount``)
    Up to :data:`WIDE_MIN_ROWS` rows: a locality x code summary (locality names
    beside the ids), one chart per code and the long Detail sheet. Larger
    (the whole fee schedule): the wide layout, one sheet per setting, one row
    per code and modifier and one column per locality (the long format stays
    for CSV and parquet).
anything else
    A summary pivot (:class:`Summary`, from ``attrs["rvucalc.summary"]`` or
    guessed), one chart (or one per code), the detail sheets, *Provenance*.
    The views' ``attrs["rvucalc.notes"]`` (a list of sentences, e.g. which
    settings could not be priced for how many claims, and why) are written
    under the Summary sheet's heading and on the Provenance sheet.

Every workbook ends with *Reasons* (each reason code its tables hold, in words, with the CMS
rule: :mod:`rvucalc.export.reasons_sheet`) and *Provenance*. A dict of views gets a summary
per view (:func:`summarised_views`).

Amounts are written as they are in the frame (cent-rounded by the
calculators); summary sums and means of amounts are rounded to cents (half up) once.
Percent-point columns (``*_pct``) are written as fractions under a percent
format (see :mod:`rvucalc.export.formats`).
"""

from __future__ import annotations

import datetime as _dt
import math
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..calc.money import round_cents
from .formats import (
    COUNT_FORMAT,
    CURRENCY_FORMAT,
    PERCENT_FORMAT,
    column_format,
    count_or_units,
    is_percent_points,
    kind_format,
    to_fraction,
)
from .provenance import Provenance, collect

#: Most rows an Excel sheet holds (one is the header).
EXCEL_MAX_ROWS = 1_048_576
#: Largest summary pivot written (cells); bigger ones are left to the detail sheets.
SUMMARY_MAX_CELLS = 1_000_000
#: Largest chart drawn (categories, series).
CHART_MAX_CATEGORIES = 250
CHART_MAX_SERIES = 24
#: Most charts drawn on one summary (one per code).
CHART_MAX_CHARTS = 12
#: A schedule frame longer than this is written in the wide layout (one sheet per setting).
WIDE_MIN_ROWS = 250_000

SETTING_NAMES = {"nonfacility": "Office (non-facility)", "facility": "Facility"}
AGG_LABEL = {"sum": "sum", "mean": "mean", "count": "count", "min": "minimum", "max": "maximum"}


# ---------------------------------------------------------------------------
# The plan: sheets made of rows and tables, plus charts
# ---------------------------------------------------------------------------
@dataclass
class Row:
    """One line of cells; *style* is ``""``, ``"title"``, ``"bold"``, ``"header"`` or ``"note"``."""

    values: Sequence[Any] = ()
    style: str = ""
    formats: Sequence[str | None] | None = None


@dataclass
class Table:
    """A frame written with a styled header row, number formats per column and an autofilter.

    *header_above* is an optional extra header line (e.g. locality names above
    their ids); *freeze_cols* label columns stay in view when the sheet freezes
    at this table.
    """

    frame: pd.DataFrame
    formats: Mapping[str, str | None] = field(default_factory=dict)
    key: str = "main"
    autofilter: bool = True
    freeze_cols: int = 0
    header_above: Sequence[Any] | None = None


@dataclass
class Chart:
    """A native bar chart over columns of a table on the same sheet."""

    table: str
    values: Sequence[str]
    categories: str
    title: str
    value_title: str
    category_title: str
    horizontal: bool = False
    number_format: str = '"$"#,##0'
    rows: int | None = None  # only the table's first rows (e.g. the top 20)
    series_names: Sequence[str] | None = None  # legend names (default: the column headers)
    major_unit: float | None = None  # value-axis step (whole numbers for counts)


@dataclass
class Sheet:
    name: str
    blocks: list[Row | Table] = field(default_factory=list)
    freeze: str | None = None  # key of the table whose header row is frozen
    charts: list[Chart] = field(default_factory=list)
    widths: Mapping[int, float] | None = None  # fixed column widths, else measured


@dataclass
class Plan:
    sheets: list[Sheet]
    title: str
    properties: dict[str, str] = field(default_factory=dict)

    @property
    def cells(self) -> int:
        return sum(b.frame.size for s in self.sheets for b in s.blocks if isinstance(b, Table))


# ---------------------------------------------------------------------------
# Summary pivot
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """How to pivot a result frame for the summary sheet.

    ``index`` columns become the rows, the distinct values of ``columns``
    become the column headers (one per value column in ``values``), ``agg``
    combines rows sharing a cell (``"first"``: the one row's value, used when
    every cell has exactly one row, else the mean is taken and said;
    ``"sum"``, ``"mean"``, ``"count"``, ``"min"``, ``"max"``: labelled in the
    column headers). ``chart`` draws native bar charts: one per code when the
    columns hold codes, else one.
    """

    index: tuple[str, ...]
    columns: tuple[str, ...] = ()
    values: tuple[str, ...] = ()
    agg: str = "first"
    chart: bool = True
    title: str = ""

    @classmethod
    def coerce(cls, spec: Summary | Mapping[str, Any]) -> Summary:
        if isinstance(spec, Summary):
            return spec
        d = dict(spec)
        for k in ("index", "columns", "values"):
            v = d.get(k, ())
            d[k] = (v,) if isinstance(v, str) else tuple(v)
        return cls(**{k: v for k, v in d.items() if k in cls.__dataclass_fields__})


_SITE_COLS = ("site", "setting", "place_of_service", "pos")
_VALUE_PREFERENCE = ("amount", "payment", "total_payment", "allowed", "paid", "total")
_CODE_COLS = ("hcpcs", "modifier", "code")


def _numeric(df: pd.DataFrame) -> list[str]:
    return [c for c in df.columns
            if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]


def summary_spec(df: pd.DataFrame) -> Summary | None:
    """The summary pivot for *df*: from ``df.attrs["rvucalc.summary"]``, else guessed.

    Guess: the value is ``amount`` (or ``payment``/``allowed``/...; or the
    pair ``nonfacility``/``facility`` of a :func:`compare` frame); codes are
    ``hcpcs`` (+ ``modifier`` when used); the site dimension is ``site`` or
    ``setting``. With several localities the rows are localities and the
    columns codes × sites; otherwise the rows are codes and the columns sites.
    """
    hook = df.attrs.get("rvucalc.summary")
    if hook is not None:
        return Summary.coerce(hook) if hook else None
    num = _numeric(df)
    values: tuple[str, ...]
    site: tuple[str, ...] = ()
    if {"nonfacility", "facility"} <= set(num):
        values = ("nonfacility", "facility")
    else:
        v = next((c for c in _VALUE_PREFERENCE if c in num), None)
        if v is None:
            v = next((c for c in num if column_format(c, df[c].dtype) == CURRENCY_FORMAT), None)
        if v is None:
            return None
        values = (v,)
        s = next((c for c in _SITE_COLS if c in df.columns and c not in values), None)
        site = (s,) if s else ()
    code: tuple[str, ...] = ()
    if "hcpcs" in df.columns:
        code = ("hcpcs",)
        if "modifier" in df.columns and (df["modifier"].astype(str).str.len() > 0).any():
            code = ("hcpcs", "modifier")
    elif "code" in df.columns:
        code = ("code",)
    if "locality_id" in df.columns and df["locality_id"].nunique() > 1:
        idx = ("locality_id",) + tuple(c for c in ("state", "locality_name") if c in df.columns)
        return Summary(index=idx, columns=code + site, values=values)
    if code:
        return Summary(index=code, columns=site, values=values)
    if site:
        return Summary(index=site, values=values)
    return None


def _text_keys(df: pd.DataFrame, keys: Sequence[str]) -> pd.DataFrame:
    """*df* with its key columns as text (missing: ``""``); code columns (``hcpcs``, ``modifier``,
    ``code``) upper-cased and stripped, so that ``j1100`` and ``J1100`` are one code."""
    sub = df.copy()
    for c in keys:
        col = sub[c].astype(object)
        col = col.where(col.notna(), "")
        if c in _CODE_COLS:
            col = col.astype(str).str.strip().str.upper()
        sub[c] = col
    return sub


def pivot(df: pd.DataFrame, spec: Summary) -> tuple[pd.DataFrame, dict[str, str]]:
    """The summary table for *spec*: index columns then one column per (column keys, value).

    Returns the flat frame and a map of value column label -> source value
    column (for number formats). Rows keep their first-seen order. Labels
    name the aggregate (``"amount (sum)"``) unless each cell is one row's
    value (``agg="first"`` with one row per cell); with ``"first"`` and
    several rows in a cell the mean is taken and labelled.
    """
    keys = list(spec.index) + list(spec.columns)
    vals = list(spec.values)
    sub = _text_keys(df[keys + vals], keys)
    g = sub.groupby(keys, sort=False, dropna=False)[vals]
    agg_name = spec.agg
    if agg_name == "first" and len(sub) and g.ngroups < len(sub):
        agg_name = "mean"  # several rows share a cell: never show one of them as if it were all
    if agg_name == "first":
        agg = g.first()
    elif agg_name == "count":
        agg = g.count()
    elif agg_name == "sum":
        agg = g.sum(min_count=1)
    else:
        agg = g.agg(agg_name)
    suffix = "" if agg_name == "first" else f" ({AGG_LABEL.get(agg_name, agg_name)})"
    labels: dict[str, str] = {}
    label_keys: dict[str, tuple[Any, ...]] = {}
    if spec.columns:
        wide = agg.unstack(list(spec.columns), sort=False)
        # only the column-key combinations present in the data, ordered level by level as first seen
        combos = list(dict.fromkeys(sub[list(spec.columns)].itertuples(index=False, name=None)))
        ranks = [{v: i for i, v in enumerate(dict.fromkeys(sub[c]))} for c in spec.columns]
        combos.sort(key=lambda t: tuple(r[x] for r, x in zip(ranks, t)))
        flat: list[str] = []
        order = []
        for ck in combos:
            for v in vals:
                parts = [str(x) for x in ck if str(x) != ""]
                if len(vals) > 1 or not parts:
                    parts.append(v)
                label = " ".join(parts) + suffix
                flat.append(label)
                order.append((v, *ck))
                labels[label] = v
                label_keys[label] = ck
        wide = wide[order]
        wide.columns = flat
    else:
        wide = agg
        wide.columns = [f"{v}{suffix}" for v in vals]
        labels = {f"{v}{suffix}": v for v in vals}
    out = wide.reset_index()
    out.attrs["rvucalc.agg"] = agg_name
    out.attrs["rvucalc.label_keys"] = label_keys
    return out, labels


# ---------------------------------------------------------------------------
# Helpers
# ---------------------------------------------------------------------------
def _limit() -> int:
    """Rows per sheet (read from the package so that tests can lower it)."""
    pkg = sys.modules.get(__package__ or "rvucalc.export")
    return int(getattr(pkg, "EXCEL_MAX_ROWS", EXCEL_MAX_ROWS))


def views_of(result: Any) -> dict[str, pd.DataFrame]:
    """``{sheet name: frame}`` for a frame, a Quote, a list of Quotes or a dict of those."""
    from ..models import Quote
    from .frames import quotes_frame

    if isinstance(result, pd.DataFrame):
        return {"Detail": result}
    if isinstance(result, Quote):
        return {"Quotes": quotes_frame([result])}
    if _is_site_comparison(result):
        return {"Sites": site_comparison_frame(result)}
    if isinstance(result, Mapping):
        out = {}
        for k, v in result.items():
            out.update({str(k): next(iter(views_of(v).values()))})
        return out
    if isinstance(result, Iterable) and not isinstance(result, str | bytes):
        items = list(result)
        if items and all(isinstance(x, Quote) for x in items):
            return {"Quotes": quotes_frame(items)}
        if items and all(isinstance(x, pd.DataFrame) for x in items):
            from .frames import concat  # one detail sheet; every frame's sources on Provenance

            return {"Detail": concat(items, ignore_index=True)}
    from ..errors import ArgumentTypeError

    raise ArgumentTypeError("to_excel() takes a DataFrame, a list of DataFrames, a Quote, a list of Quotes, a "
                            "SiteComparison or a "
                    f"dict of those (one detail sheet each), not {type(result).__name__}")


#: What the numeric columns of :meth:`rvucalc.sites.SiteComparison.to_frame` hold.
SITE_KINDS = {"year": "number", "professional": "money", "facility": "money", "total": "money",
              "medicare": "money", "beneficiary": "money", "wage_index": "index"}


def _is_site_comparison(obj: Any) -> bool:
    mod = sys.modules.get("rvucalc.sites")  # not loaded: *obj* cannot be one
    return mod is not None and isinstance(obj, mod.SiteComparison)


def site_comparison_frame(cmp: Any) -> pd.DataFrame:
    """A :class:`rvucalc.sites.SiteComparison` as a workbook frame: :meth:`to_frame` (its rows and
    sources) plus notes saying where the physician and the facility were placed and why a
    setting has no amount (e.g. no OPPS Addendum B for the year), for the Summary and
    Provenance sheets."""
    from .formats import declare_kinds

    df = declare_kinds(cmp.to_frame(), SITE_KINDS)
    notes = [cmp.heading]
    for site, wi in cmp.wage_index.items():
        if wi.placement:
            label = next((r.label for r in cmp.rows if r.site == site), site)
            notes.append(f"{label} facility placed: {wi.placement}")
    for r in cmp.rows:
        if r.total is None:
            why = "; ".join(f"{x.message} [{x.code}]" for x in r.reasons) or "no reason given"
            notes.append(f"{r.label}: no amount: {why}")
        elif r.condition:
            notes.append(f"{r.label}: {r.condition}")
    df.attrs["rvucalc.notes"] = list(df.attrs.get("rvucalc.notes", [])) + notes
    return df


def notes_of(views: Mapping[str, pd.DataFrame]) -> list[str]:
    """The frames' ``attrs["rvucalc.notes"]`` (each once, in order)."""
    out: dict[str, None] = {}
    for df in views.values():
        for n in df.attrs.get("rvucalc.notes", []) or []:
            out.setdefault(str(n))
    return list(out)


def formats_of(df: pd.DataFrame, extra: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Number format per column: the kinds its producer declared (``attrs["rvucalc.kinds"]``,
    see :func:`rvucalc.export.formats.declare_kinds`), else guessed from the name (the fallback
    for frames nobody declared); then ``attrs["rvucalc.formats"]``, then *extra*."""
    kinds = df.attrs.get("rvucalc.kinds") or {}
    f: dict[str, str | None] = {}
    for c in df.columns:
        numeric = pd.api.types.is_numeric_dtype(df[c].dtype) and not pd.api.types.is_bool_dtype(df[c].dtype)
        if c in kinds:
            f[c] = kind_format(kinds[c], df[c] if numeric else None) if numeric else None
        else:
            fmt = column_format(c, df[c].dtype)
            f[c] = count_or_units(df[c]) if fmt == COUNT_FORMAT else fmt
    f.update(df.attrs.get("rvucalc.formats") or {})
    f.update(extra or {})
    return f


def as_written(df: pd.DataFrame, formats: Mapping[str, str | None]) -> pd.DataFrame:
    """The frame as the cells will hold it: percent-point columns (named ``*_pct``..., or declared
    ``percent_points`` in ``attrs["rvucalc.kinds"]``) become fractions."""
    kinds = df.attrs.get("rvucalc.kinds") or {}
    pct = [c for c in df.columns if formats.get(c) == PERCENT_FORMAT
           and (is_percent_points(c) or kinds.get(c) == "percent_points")
           and pd.api.types.is_numeric_dtype(df[c])]
    if not pct:
        return df
    out = df.copy(deep=False)
    for c in pct:
        out[c] = to_fraction(df[c])
    return out


def _user_col(df: pd.DataFrame, name: str) -> str:
    """The user's header of the claim column rvucalc calls *name*: what the pricing recorded in
    ``attrs["rvucalc.columns"]`` (claim files with other headers, :mod:`rvucalc.claims.columns`)."""
    return (df.attrs.get("rvucalc.columns") or {}).get(name, name)


def kind_of(df: pd.DataFrame) -> str:
    """``"reprice"``, ``"schedule"`` or ``"table"`` (from ``attrs["rvucalc.kind"]`` or the columns)."""
    k = df.attrs.get("rvucalc.kind")
    if k:
        return str(k)
    cols = set(df.columns)
    if {_user_col(df, "claim_id"), "allowed", "payable", "medicare_payment"} <= cols:
        return "reprice"
    if {"hcpcs", "locality_id", "setting", "amount"} <= cols and "rvucalc.summary" not in df.attrs:
        return "schedule"
    return "table"


#: Tables whose release names the schedule a workbook's amounts come from (PFS, OPPS, ASC).
RATE_TABLES = ("pprrvu", "addendum_b", "addendum_aa")


def _release_labels(prov: Provenance) -> str:
    """The releases behind the amounts, by label (``PFS ... RVU26C ...; ASC Addenda ...``), then
    the parts that had none (``no release: HOPD facility lines ...``)."""
    ids = prov.parameters.get("releases in the data")
    ids = [] if ids is None else [ids] if not isinstance(ids, list) else ids
    by_source = {str(s.get("release")): str(s.get("release_label") or "") for s in prov.sources}
    if ids:
        labels = [str(prov.parameters.get(f"release {i}") or by_source.get(str(i)) or i) for i in ids]
    else:
        labels = [str(v) for k, v in prov.parameters.items() if k.startswith("release ")]
        if not labels:  # e.g. a site comparison: the rate files' releases
            labels = [str(s.get("release_label") or s.get("release")) for s in prov.sources
                      if s.get("table") in RATE_TABLES]
    out = "; ".join(dict.fromkeys(x for x in labels if x))
    missing = prov.parameters.get("no release")
    if missing:
        gone = "; ".join(map(str, missing if isinstance(missing, list) else [missing]))
        out = f"{out}; no release: {gone}" if out else f"no release: {gone}"
    return out


def missing_releases(views: Mapping[str, pd.DataFrame], prov: Provenance) -> None:
    """Add ``no release`` to *prov* for each view whose lines (some or all) had no release,
    with how many and why (their ``release_note``), e.g. ``HOPD facility lines: 10 of 10
    lines (no CY2026 OPPS addendum at hand)``."""
    for name, df in views.items():
        if "release" not in df.columns or not len(df):
            continue
        rel = df["release"].astype(object)
        none = (rel.isna() | (rel.astype(str).str.strip() == "")).to_numpy()
        why = ""
        if "release_note" in df.columns:  # a line refused before any release (a bad date) has no note
            note = df["release_note"].astype(object).fillna("").astype(str).str.strip()
            none = none & (note != "").to_numpy()
            why = "; ".join(pd.unique(note[none]))
        if not none.any():
            continue
        what = f"{name}: {int(none.sum()):,} of {len(df):,} lines" + (f" ({why})" if why else "")
        prov.add_parameter("no release", what)


class Names:
    """Locality names and code descriptions from a FeeSchedule given as provenance (if any)."""

    def __init__(self, objs: Iterable[Any]) -> None:
        self.localities: pd.DataFrame | None = None
        self.descriptions: pd.DataFrame | None = None
        for o in objs:
            loc = getattr(o, "localities", None)
            if self.localities is None and isinstance(loc, pd.DataFrame) and "locality_id" in loc:
                cols = [c for c in ("locality_id", "state", "locality_name") if c in loc.columns]
                self.localities = loc[cols].astype(object).drop_duplicates("locality_id")
            rv = getattr(o, "rvus", None)
            if self.descriptions is None and isinstance(rv, pd.DataFrame) and "description" in rv:
                self.descriptions = rv[["hcpcs", "modifier", "description"]].astype(object) \
                    .drop_duplicates(["hcpcs", "modifier"])

    def add_locality_names(self, table: pd.DataFrame) -> pd.DataFrame:
        """*table* with ``state`` and ``locality_name`` beside its ``locality_id`` (national named)."""
        if "locality_id" not in table.columns or "locality_name" in table.columns:
            return table
        ids = table["locality_id"].astype(object)
        if self.localities is not None:
            m = self.localities.set_index("locality_id")
            state = ids.map(m["state"]) if "state" in m else pd.Series("", index=ids.index)
            name = ids.map(m["locality_name"]) if "locality_name" in m else pd.Series("", index=ids.index)
        else:
            state = pd.Series([""] * len(ids), index=ids.index, dtype=object)
            name = pd.Series([""] * len(ids), index=ids.index, dtype=object)
        nat = ids.astype(str) == "national"
        state = state.astype(object).where(~nat, "").fillna("")
        name = name.astype(object).where(~nat, "NATIONAL (GPCIs 1.0)").fillna("")
        if not (name != "").any():
            return table
        out = table.copy()
        j = list(out.columns).index("locality_id") + 1
        if "state" not in out.columns:
            out.insert(j, "state", state.to_numpy())
            j += 1
        out.insert(j, "locality_name", name.to_numpy())
        return out


# ---------------------------------------------------------------------------
# Charts for a pivot
# ---------------------------------------------------------------------------
def _value_title(values: Sequence[str], agg: str) -> str:
    v = set(values)
    if v <= {"nonfacility", "facility", "amount", "allowed", "fee_schedule_amount"} or "allowed" in v:
        what = "Allowed amount"
    elif v <= {"medicare_payment", "medicare", "program_payment"}:
        what = "Medicare payment"
    else:  # several kinds of amount (professional, facility, total...): the legend names them
        what = "Amount"
    if agg in ("sum", "mean"):
        what = f"{what}, {AGG_LABEL[agg]}"
    return f"{what} ($)"


def _series_name(label: str, ck: Sequence[Any], code_pos: Sequence[int], value: str, n_values: int) -> str:
    rest = [str(x) for i, x in enumerate(ck) if i not in code_pos and str(x) != ""]
    if n_values > 1 or not rest:
        rest.append(value)
    return " ".join(SETTING_NAMES.get(x, x) for x in rest) or label


def pivot_charts(table: pd.DataFrame, spec: Summary, labels: Mapping[str, str], source: pd.DataFrame,
                 heading: str, names: Names | None = None) -> list[Chart]:
    """Bar charts for a summary pivot: one per code when the columns hold codes, else one."""
    ncat = len(table)
    agg = str(table.attrs.get("rvucalc.agg", spec.agg))
    if not (0 < ncat <= CHART_MAX_CATEGORIES) or not labels:
        return []
    cat_cols = [c for c in table.columns[: len(table.columns) - len(labels)] if c != "locality_id"]
    varying = [c for c in cat_cols if table[c].astype(str).nunique() > 1]
    if "locality_name" in cat_cols:
        category = "locality_name"
    elif varying:
        category = varying[-1]  # e.g. the site when every row is the same code
    elif cat_cols:
        category = cat_cols[0]
    else:
        category = str(table.columns[0])
    cat_title = {"locality_name": "Locality", "locality_id": "Locality", "hcpcs": "HCPCS code",
                 "code": "HCPCS code", "change": "Change", "site": "Site of service",
                 "setting": "Setting"}.get(category, category.replace("_", " ").capitalize())
    horizontal = ncat > 12
    count = agg == "count"
    money = not count and any(column_format(v, float) == CURRENCY_FORMAT for v in spec.values)
    # values the frame declares as percentages (fractions under a percent format): a percent axis
    pct = not count and not money and all(formats_of(source).get(v) == PERCENT_FORMAT for v in spec.values)
    vtitle = ("Rows (count)" if count else _value_title(spec.values, agg) if money
              else ", ".join(spec.values))
    fmt = '"$"#,##0' if money else "0%" if pct else "General"
    code_keys = [c for c in spec.columns if c in _CODE_COLS]
    groups: dict[str, list[str]] = {}
    if code_keys:
        # one chart per code: a $17 code and a $5,000 code each get an axis of their own
        key_pos = [list(spec.columns).index(c) for c in code_keys]
        for lab, ck in table.attrs.get("rvucalc.label_keys", {}).items():
            code = " ".join(str(ck[i]) for i in key_pos if str(ck[i]) != "")
            groups.setdefault(code, []).append(lab)
    else:
        groups[""] = list(labels)
    desc = {}
    if "description" in source.columns and "hcpcs" in source.columns:
        mods = source["modifier"].astype(str) if "modifier" in source.columns else ""
        keys = (source["hcpcs"].astype(str) + " " + mods).str.strip()
        desc = dict(zip(keys, source["description"].astype(str)))
    elif names is not None and names.descriptions is not None:
        d = names.descriptions
        desc = dict(zip((d["hcpcs"].astype(str) + " " + d["modifier"].astype(str)).str.strip(),
                        d["description"].astype(str)))
    charts: list[Chart] = []
    for code, labs in groups.items():
        labs = [lab for lab in labs if table[lab].notna().any()][:CHART_MAX_SERIES]
        if not labs:
            continue  # no amount for this code anywhere (a reason code): nothing to draw
        if len(charts) == CHART_MAX_CHARTS:
            break
        d = desc.get(code, "")
        title = f"{code}: {d}" if code and d else (code or heading)
        names = None
        if code:  # the code is in the chart title: the legend names the settings or sites
            names = [_series_name(lab, table.attrs.get("rvucalc.label_keys", {}).get(lab, ()), key_pos,
                                  labels[lab], len(spec.values)) for lab in labs]
        step = None
        if count:
            top = float(np.nanmax(table[labs].to_numpy(dtype=float))) if len(table) else 1.0
            step = float(max(1, math.ceil(top / 8)))
        charts.append(Chart(table="main", values=labs, categories=category, title=title,
                            value_title=vtitle, category_title=cat_title, horizontal=horizontal,
                            number_format="#,##0" if count else fmt, series_names=names, major_unit=step))
    return charts


# ---------------------------------------------------------------------------
# Sheets
# ---------------------------------------------------------------------------
def _split(name: str, df: pd.DataFrame, fmts: Mapping[str, str | None]) -> list[Sheet]:
    """Detail sheets for *df*: longer frames continue on further sheets."""
    chunk = _limit() - 1
    out = []
    for k, start in enumerate(range(0, max(len(df), 1), chunk)):
        part = df.iloc[start:start + chunk]
        out.append(Sheet(name if k == 0 else f"{name} {k + 1}",
                         [Table(part, fmts, key="main", freeze_cols=0)], freeze="main"))
    return out


def _subtitle(n: int, prov: Provenance, written: _dt.datetime, what: str = "rows") -> str:
    rel = _release_labels(prov)
    return (f"{n:,} {what}; " + (f"release: {rel}; " if rel else "")
            + f"written {written.date().isoformat()}; files and options on the Provenance sheet")


def _summary_sheet(first: pd.DataFrame, spec: Summary, heading: str, prov: Provenance, names: Names,
                   formats: Mapping[str, str] | None, chart: bool, written: _dt.datetime,
                   notes: Sequence[str] = ()) -> Sheet:
    table, labels = pivot(first, spec)
    declared = first.attrs.get("rvucalc.kinds") or {}  # a value's kind holds for its pivot columns
    table.attrs["rvucalc.kinds"] = {lab: declared[v] for lab, v in labels.items() if v in declared}
    agg = table.attrs.get("rvucalc.agg", spec.agg)
    n_idx = len(table.columns) - len(labels)
    if "locality_id" in spec.index:
        named = names.add_locality_names(table)
        n_idx += len(named.columns) - len(table.columns)
        named.attrs = table.attrs
        table = named
    src_fmt = formats_of(first, formats)
    if agg in ("mean", "sum"):  # a mean or sum of amounts is shown in cents, rounded once (half up)
        for lab, v in labels.items():
            if src_fmt.get(v) == CURRENCY_FORMAT and pd.api.types.is_numeric_dtype(table[lab]):
                table[lab] = round_cents(table[lab].to_numpy(dtype=float, na_value=np.nan))
    fmts: dict[str, str | None] = {c: src_fmt.get(c) for c in table.columns[:n_idx]}
    fmts.update({lab: (COUNT_FORMAT if agg == "count" else src_fmt.get(v)) for lab, v in labels.items()})
    sub = _subtitle(len(first), prov, written)
    if agg == "mean" and spec.agg == "first":
        sub += "; several rows per cell: each figure is their mean"
    top = [Row([heading], "title"), Row([sub], "note")] + [Row([n], "note") for n in notes]
    if table.size > SUMMARY_MAX_CELLS:
        return Sheet("Summary", top + [
            Row([f"The summary would have {table.size:,} cells; see the detail sheets."])])
    sheet = Sheet("Summary", top + [Table(as_written(table, fmts), fmts, freeze_cols=n_idx)],
                  freeze="main")
    if chart and spec.chart:
        sheet.charts = pivot_charts(table, spec, labels, first, heading, names)
    return sheet


def reasons_sheet(sheets: Sequence[Sheet]) -> Sheet:
    """The Reasons sheet: every reason code in the tables of *sheets*, its words, its CMS rule and
    where it appears (:mod:`rvucalc.export.reasons_sheet`)."""
    from .reasons_sheet import reasons_table

    table = reasons_table((s.name, b.frame) for s in sheets for b in s.blocks if isinstance(b, Table))
    rows: list[Row | Table] = [
        Row(["Reasons: what each reason code in this workbook means"], "title"),
        Row(["A line with no amount, or with an adjusted one, carries a reason code in a 'reason' column; "
             "a cell may hold several codes joined by '|'. In Python: rvucalc.explain(code)."], "note")]
    if table.empty:
        rows.append(Row(["No reason codes appear in this workbook."]))
        return Sheet("Reasons", rows)
    rows.append(Table(table, dict.fromkeys(table.columns), freeze_cols=1))
    return Sheet("Reasons", rows, freeze="main")


def provenance_sheet(prov: Provenance, title: str, views: Mapping[str, pd.DataFrame],
                     written: _dt.datetime, notes: Sequence[str] = ()) -> Sheet:
    """The Provenance sheet: the workbook, the CMS files with sha256, then parameters and options."""
    import importlib

    try:
        version = importlib.import_module("rvucalc").__version__
    except (ImportError, AttributeError):  # pragma: no cover
        version = "unknown"
    rows: list[Row | Table] = [
        Row(["Provenance"], "title"),
        Row(["title", title]),
        Row(["written", written.isoformat(timespec="seconds")]),
        Row(["date", written.date().isoformat()]),
        Row(["rvucalc version", version]),
    ]
    for name, df in views.items():
        rows.append(Row([f"rows in {name}", len(df)], formats=[None, COUNT_FORMAT]))
    for n in notes:
        rows.append(Row(["note", n]))
    rows += [Row(), Row(["CMS releases and files used"], "bold"),
             Row(["release", "release label", "table", "file", "sha256", "origin", "sha256 verified", "note"],
                 "header")]
    if not prov.sources:
        rows.append(Row(["(none: the frames written carry no rvucalc sources, and none were given. A frame "
                         "made by pd.concat of frames with different sources keeps none: combine them with "
                         "rvucalc.concat, or pass provenance= a FeeSchedule, Quote or Source)"]))
    for s in prov.sources:
        rows.append(Row([str(s.get("release", "")), str(s.get("release_label", "")), str(s.get("table", "")),
                         str(s.get("file", "")), str(s.get("sha256", "")), str(s.get("origin", "")),
                         bool(s.get("verified", False)), str(s.get("note", ""))]))
    rows += [Row(), Row(["Parameters and options"], "bold"), Row(["name", "value"], "header")]
    from .formats import CF_FORMAT, INDEX_FORMAT

    for k, v in prov.parameters.items():
        if isinstance(v, list):
            v = ", ".join(map(str, v))
        fmt = CF_FORMAT if "conversion factor" in k and isinstance(v, float) else (
            INDEX_FORMAT if "wage index" in k and isinstance(v, float) else None)
        val = v if isinstance(v, str | int | float | bool) else str(v)
        rows.append(Row([k, val], formats=[None, fmt]))
    return Sheet("Provenance", rows, widths={0: 34, 1: 54, 2: 10, 3: 30, 4: 68, 5: 9, 6: 16, 7: 44})


# ---------------------------------------------------------------------------
# Wide schedule (the whole fee schedule)
# ---------------------------------------------------------------------------
def wide_schedule(df: pd.DataFrame, names: Names) -> tuple[list[Sheet], pd.DataFrame]:
    """One sheet per setting: a row per code and modifier, a column per locality (amounts).

    Returns the sheets and a per-locality count table for the summary. Rows
    keep the frame's code order, columns its locality order. A cell without
    an amount is left empty; the row's ``reasons`` column lists the reason
    codes of its empty cells (see :func:`rvucalc.explain`).
    """
    key = df[["hcpcs", "modifier"]].astype(str) if "modifier" in df.columns else \
        df[["hcpcs"]].astype(str).assign(modifier="")
    code_id, codes = pd.factorize(key["hcpcs"] + "\x00" + key["modifier"], sort=False)
    loc_id, locs = pd.factorize(df["locality_id"].astype(str), sort=False)
    settings = [s for s in dict.fromkeys(df["setting"].astype(str)) if s]
    _, first_row = np.unique(code_id, return_index=True)
    code_frame = key.iloc[first_row].reset_index(drop=True)
    if names.descriptions is not None and "description" not in df.columns:
        code_frame = code_frame.merge(names.descriptions.astype(str), on=["hcpcs", "modifier"], how="left")
        code_frame["description"] = code_frame["description"].fillna("")
    for extra in ("description", "status", "global_days"):
        if extra in df.columns:
            first = pd.Series(df[extra].astype(object).to_numpy()).groupby(code_id, sort=False).first()
            code_frame[extra] = first.reindex(range(len(codes))).fillna("").to_numpy()
    loc_table = names.add_locality_names(pd.DataFrame({"locality_id": list(locs)}))
    setting_arr = df["setting"].astype(str).to_numpy()
    amounts = df["amount"].to_numpy(dtype=float, na_value=np.nan)
    reasons = df["reason"].astype(str).to_numpy() if "reason" in df.columns else None
    sheets = []
    counts = loc_table.copy()
    for s in settings:
        m = setting_arr == s
        grid = np.full((len(codes), len(locs)), np.nan)
        grid[code_id[m], loc_id[m]] = amounts[m]
        vals = pd.DataFrame(grid, columns=list(locs))
        body = pd.concat([code_frame.reset_index(drop=True), vals], axis=1)
        if reasons is not None:
            r = pd.DataFrame({"row": code_id[m], "reason": reasons[m]})
            r = r[r["reason"] != ""].drop_duplicates()
            joined = r.groupby("row", sort=False)["reason"].agg("|".join)
            body.insert(len(code_frame.columns), "reasons",
                        joined.reindex(range(len(codes))).fillna("").to_numpy())
        n_lab = len(body.columns) - len(locs)
        fmts: dict[str, str | None] = {c: None for c in body.columns[:n_lab]}
        fmts.update(dict.fromkeys(locs, CURRENCY_FORMAT))
        above: list[Any] = [""] * n_lab
        if "locality_name" in loc_table.columns:
            above[-1] = "locality:"
            above += [f"{st} {nm}".strip() for st, nm in zip(loc_table.get("state", [""] * len(locs)),
                                                            loc_table["locality_name"])]
        label = SETTING_NAMES.get(s, s)
        sheets.append(Sheet(label[:31], [
            Row([f"{label}: PFS amount by locality (one row per code and modifier)"], "title"),
            Row(["Allowed amounts in dollars, cent-rounded; an empty cell has no amount (reason codes in "
                 "'reasons'). Non-participating amounts and limiting charges: write .csv or .parquet "
                 "for the long format."], "note"),
            Table(body, fmts, freeze_cols=n_lab, header_above=above if len(above) > n_lab else None),
        ], freeze="main"))
        counts[f"codes with an amount: {label} (count)"] = np.count_nonzero(~np.isnan(grid), axis=0)
    return sheets, counts


# ---------------------------------------------------------------------------
# Repricing result
# ---------------------------------------------------------------------------
def _cents(s: pd.Series | np.ndarray) -> np.ndarray:
    """Cent amounts as whole cents (int64; missing -> 0), so that sums are exact."""
    x = pd.to_numeric(pd.Series(s), errors="coerce").to_numpy(dtype=float)
    return np.where(np.isnan(x), 0, np.rint(x * 100)).astype(np.int64)


def _money_sum(s: pd.Series) -> float:
    """Sum of cent amounts, added in whole cents (nothing is rounded twice)."""
    return int(_cents(s).sum()) / 100.0


def beneficiary_share(df: pd.DataFrame) -> pd.Series:
    """Per line: allowed - Medicare payment - sequestration (the beneficiary's coinsurance), in cents."""
    allowed = df["allowed"].to_numpy(dtype=float, na_value=np.nan)
    pay = df["medicare_payment"].to_numpy(dtype=float, na_value=np.nan)
    seq = df["sequestration"].to_numpy(dtype=float, na_value=np.nan) if "sequestration" in df else 0.0
    return pd.Series(round_cents(allowed - pay - np.nan_to_num(seq)), index=df.index)


CLAIM_LABELS = {
    "lines": "lines (count)", "lines_paid": "lines paid (count)", "lines_unpaid": "lines not paid (count)",
    "allowed": "allowed (sum)", "medicare_payment": "Medicare payment (sum)",
    "sequestration": "sequestration (sum)", "beneficiary_share": "beneficiary share (sum)",
    "charge_amount": "charge (sum)",
}


def claims_frame(priced: pd.DataFrame) -> pd.DataFrame:
    """Per-claim totals of a repricing result, with headers that say how each figure is made.

    The totals are :func:`rvucalc.claims.summary.summarise_claims` (lines, lines paid and
    unpaid, sums of the lines' cent amounts; no amount when no line of the claim was paid).
    """
    from ..claims.summary import summarise_claims

    out = summarise_claims(priced)
    if "sequestration" in out.columns and not (out["sequestration"].fillna(0) != 0).any():
        out = out.drop(columns="sequestration")
    return out.rename(columns=CLAIM_LABELS)


def _reprice_sheets(df: pd.DataFrame, heading: str, prov: Provenance, names: Names, chart: bool,
                    written: _dt.datetime) -> list[Sheet]:
    paid = df["payable"].astype(bool)
    claims = claims_frame(df)  # lines without a claim id are claims of their own, as on the Claims sheet
    n_claims = len(claims)
    ben = beneficiary_share(df)
    figures: list[tuple[str, Any, str | None]] = [
        ("claim lines (count)", len(df), COUNT_FORMAT),
        ("claims (count; a line without a claim_id is a claim of its own)", int(n_claims), COUNT_FORMAT),
        ("lines paid (count)", int(paid.sum()), COUNT_FORMAT),
        ("lines not paid (count; reasons on the Detail sheet)", int((~paid).sum()), COUNT_FORMAT),
    ]
    charge = _user_col(df, "charge")
    if charge in df.columns and pd.api.types.is_numeric_dtype(df[charge]):
        figures.append(("charge, all lines (sum)", _money_sum(df[charge]), CURRENCY_FORMAT))
    figures += [("allowed amount (sum)", _money_sum(df["allowed"]), CURRENCY_FORMAT),
                ("Medicare payment (sum)", _money_sum(df["medicare_payment"]), CURRENCY_FORMAT)]
    if "sequestration" in df.columns and (df["sequestration"].fillna(0) != 0).any():
        figures.append(("sequestration (sum)", _money_sum(df["sequestration"]), CURRENCY_FORMAT))
    figures.append(("beneficiary share: allowed - payment - sequestration (sum)", _money_sum(ben),
                    CURRENCY_FORMAT))
    mean = float(round_cents(df.loc[paid, "allowed"].mean())) if paid.any() else float("nan")
    figures.append(("allowed amount per paid line (mean)", mean, CURRENCY_FORMAT))

    # codes as CMS writes them: "j1100 " and "J1100" are one code (the lines keep what was given)
    hc = df[_user_col(df, "hcpcs")].astype(object)
    code = hc.where(hc.notna(), "").astype(str).str.strip().str.upper()
    if "pricing_modifier" in df.columns:
        pm = df["pricing_modifier"].astype(object)
        pm = pm.where(pm.notna(), "").astype(str).str.strip().str.upper()
        code = code.where(pm == "", code + "-" + pm)
    code_cols = ["code"]
    base = pd.DataFrame({"code": code.to_numpy(dtype=object)}, index=df.index)
    base["lines (count)"] = 1
    base["lines paid (count)"] = paid.astype(int).to_numpy()
    # units as rvucalc read them (``units_factor``: none where the units were refused), so a
    # refused ``7.5`` or ``1,5`` is not added in; the user's column only when that is absent
    units = df["units_factor"] if "units_factor" in df.columns else \
        pd.to_numeric(df[_user_col(df, "units")], errors="coerce") if _user_col(df, "units") in df.columns \
        else None
    if units is not None:
        base["units (sum)"] = pd.to_numeric(units, errors="coerce").fillna(0).to_numpy()
    base["allowed (sum)"] = _cents(df["allowed"])
    base["Medicare payment (sum)"] = _cents(df["medicare_payment"])

    def by(keys: list[str], frame: pd.DataFrame) -> pd.DataFrame:
        g = frame.groupby(keys, sort=False, dropna=False).sum(numeric_only=True).reset_index()
        for c in ("allowed (sum)", "Medicare payment (sum)"):
            g[c] = g[c].to_numpy(dtype=np.int64) / 100.0
        lines = g["lines paid (count)"].to_numpy(dtype=float)
        for c in ("allowed (sum)", "Medicare payment (sum)"):  # no amount, not $0, when nothing was paid
            g[c] = np.where(lines > 0, g[c].to_numpy(dtype=float), np.nan)
        with np.errstate(invalid="ignore", divide="ignore"):
            g["allowed per paid line (mean)"] = round_cents(
                np.where(lines > 0, g["allowed (sum)"] / lines, np.nan))
        return g.sort_values("allowed (sum)", ascending=False, kind="stable", na_position="last") \
            .reset_index(drop=True)

    per_code = by(code_cols, base)
    units_fmt = count_or_units(per_code["units (sum)"]) if "units (sum)" in per_code else COUNT_FORMAT
    fmts = {c: (COUNT_FORMAT if "(count)" in c else CURRENCY_FORMAT if "(sum)" in c and "units" not in c
                else CURRENCY_FORMAT if "(mean)" in c else units_fmt if "units" in c else None)
            for c in per_code.columns}
    sub = _subtitle(len(df), prov, written, "claim lines")
    summary = Sheet("Summary", [Row([heading], "title"), Row([sub], "note"), Row(),
                                Row(["Key figures", "value"], "header")], freeze=None)
    for lab, v, f in figures:
        summary.blocks.append(Row([lab, v], formats=[None, f]))
    summary.blocks += [Row(), Row(["By code: sums over all lines, sorted by allowed amount"], "bold"),
                       Table(per_code, fmts, key="main", freeze_cols=len(code_cols))]
    if chart and 0 < len(per_code):
        top = min(len(per_code), 20)
        summary.charts.append(Chart(
            table="main", values=["allowed (sum)"], categories="code",
            title=f"Allowed amount by code (sum{'; top 20' if len(per_code) > 20 else ''})",
            value_title="Allowed amount, sum ($)", category_title="HCPCS code", horizontal=True,
            number_format='"$"#,##0', rows=top))
    sheets = [summary]
    if "locality_id" in df.columns:
        base2 = base.copy()
        base2.insert(len(code_cols), "locality_id", df["locality_id"].astype(object).fillna("").to_numpy())
        loc_table = names.add_locality_names(by(code_cols + ["locality_id"], base2))
        lf = {c: fmts.get(c) for c in loc_table.columns}
        if "units (sum)" in loc_table:
            lf["units (sum)"] = count_or_units(loc_table["units (sum)"])
        n_lab = len(loc_table.columns) - len(per_code.columns) + len(code_cols)
        sheets.append(Sheet("By code and locality", [
            Row(["Sums per code and locality (all lines)"], "title"),
            Table(loc_table, lf, freeze_cols=n_lab)], freeze="main"))
    cf = {c: (COUNT_FORMAT if "(count)" in c else CURRENCY_FORMAT if "(sum)" in c else None)
          for c in claims.columns}
    sheets.append(Sheet("Claims", [
        Row(["Totals per claim"], "title"),
        Row(["sums of the claim's line amounts; beneficiary share = allowed - Medicare payment - "
             "sequestration; no amount when no line of the claim was paid"], "note"),
        Table(claims, cf, freeze_cols=1)], freeze="main"))
    return sheets


# ---------------------------------------------------------------------------
# The whole workbook
# ---------------------------------------------------------------------------
def summarised_views(views: Mapping[str, pd.DataFrame],
                     summaries: Sequence[str] | None = None) -> dict[str, pd.DataFrame]:
    """The views that get a summary of their own: every view (``{"CY2025": a, "CY2026": b}``:
    both), or those named in *summaries* (a workbook whose other views are details of the
    first, such as a contract comparison's terms and lines, names only the first)."""
    if summaries is None:
        return dict(views)
    keep = {str(n) for n in summaries}
    return {n: d for n, d in views.items() if n in keep}


def default_title(kind: str, spec: Summary | None, prov: Provenance, view: str) -> str:
    rel = _release_labels(prov)
    tail = f" ({rel})" if rel else ""
    if kind == "reprice":
        return "Claim lines repriced under the Medicare physician fee schedule" + tail
    if kind == "schedule":
        return "Medicare physician fee schedule amounts by locality" + tail
    if spec is not None and spec.title:
        return spec.title
    return f"{view}: results from rvucalc" + tail


#: Summary sheets of frames whose ``attrs["rvucalc.kind"]`` is a key: ``(frame, heading, provenance,
#: written, notes, chart) -> sheets`` written before the detail sheets (registered by the modules
#: that lay them out, e.g. :mod:`rvucalc.export.many` for ``"sites_many"``).
KIND_SHEETS: dict[str, Callable[..., list[Sheet]]] = {}


def plan(
    result: Any,
    *,
    provenance: Any = None,
    title: str | None = None,
    chart: bool = True,
    summary: Summary | Mapping[str, Any] | bool | None = None,
    formats: Mapping[str, str] | None = None,
    layout: str = "auto",
    summaries: Sequence[str] | None = None,
) -> Plan:
    """The sheets :func:`rvucalc.export.to_excel` writes for *result* (see the module docstring)."""
    views = views_of(result)
    written = _dt.datetime.now().replace(microsecond=0)
    prov_objs = provenance if isinstance(provenance, list | tuple) else [provenance]
    names = Names(prov_objs)  # first: reading the names may read a file (LOCCO) that provenance lists
    prov = Provenance()
    for df in views.values():
        collect(df, prov)
    collect(provenance, prov)
    missing_releases(views, prov)
    first_name, first = next(iter(views.items()))
    kind = kind_of(first)
    if summary is False:
        spec: Summary | None = None
    elif summary is None or summary is True:
        spec = summary_spec(first)
    else:
        spec = Summary.coerce(summary)
    heading = title or default_title(kind, spec, prov, first_name)
    sheets: list[Sheet] = []
    notes: list[str] = notes_of(views)
    wide = kind == "schedule" and (layout == "wide" or (layout == "auto" and len(first) > WIDE_MIN_ROWS))
    if wide:
        wide_sheets, counts = wide_schedule(first, names)
        if summary is not False:
            cfmt = {c: (COUNT_FORMAT if "(count)" in c else None) for c in counts.columns}
            sheets.append(Sheet("Summary", [
                Row([heading], "title"), Row([_subtitle(len(first), prov, written, "amounts")], "note"),
                Row(["One sheet per setting: a row per code and modifier, a column per locality."], "note"),
                Table(counts, cfmt, freeze_cols=min(3, len(counts.columns)))], freeze="main"))
        sheets += wide_sheets
        notes.append("wide layout: one sheet per setting; the long format (with non-participating amounts "
                     "and limiting charges) is written to .csv or .parquet")
        views_written = {s.name: next(b.frame for b in s.blocks if isinstance(b, Table)) for s in wide_sheets}
    else:
        peers = summarised_views(views, summaries)
        several = len(peers) > 1
        for name, df in peers.items():
            k = kind_of(df)
            if name == first_name:
                sp = spec
            elif summary is None or summary is True or summary is False:
                sp = None if summary is False else summary_spec(df)
            else:  # the summary asked for, where the view has its columns; else the view's own
                sp = spec if spec is not None and set(spec.index + spec.columns + spec.values) <= set(df.columns) \
                    else summary_spec(df)
            h = heading if name == first_name else (title or default_title(k, sp, prov, name))
            if several and name not in h:
                h = f"{h}: {name}"
            got: list[Sheet] = []
            if k == "reprice" and summary in (None, True):
                got = _reprice_sheets(df, h, prov, names, chart, written)
            elif k in KIND_SHEETS and summary in (None, True):
                got = KIND_SHEETS[k](df, h, prov, written, notes if not several else notes_of({name: df}), chart)
            elif sp is not None:
                got = [_summary_sheet(df, sp, h, prov, names, formats, chart, written,
                                      notes if not several else notes_of({name: df}))]
            if several:
                for sh in got:
                    sh.name = f"{sh.name} {name}"
            sheets += got
        for name, df in views.items():
            fmts = formats_of(df, formats)
            sheets += _split(name, as_written(df, fmts), fmts)
        views_written = views
    used: set[str] = set()
    for s in sheets:
        s.name = sheet_title(s.name, used)
    sheets.append(reasons_sheet(sheets))
    sheets.append(provenance_sheet(prov, heading, views_written, written, notes))
    for s in sheets[-2:]:
        s.name = sheet_title(s.name, used)
    props = {"title": heading, "subject": "Medicare payment amounts", "author": "rvucalc",
             "comments": "Written by rvucalc; sources and options on the Provenance sheet"}
    return Plan(sheets, heading, props)


def sheet_title(name: str, used: set[str]) -> str:
    """A legal, unique (case-insensitive) sheet name of at most 31 characters."""
    t = re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip().strip("'") or "Sheet"
    t = t[:31]
    base, i = t, 2
    while t.lower() in used:
        suffix = f" ({i})"
        t = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(t.lower())
    return t


__all__ = [
    "CHART_MAX_CATEGORIES", "CHART_MAX_SERIES", "EXCEL_MAX_ROWS", "SUMMARY_MAX_CELLS", "WIDE_MIN_ROWS",
    "Chart", "Plan", "Row", "Sheet", "Summary", "Table", "beneficiary_share", "claims_frame", "formats_of",
    "kind_of", "pivot", "plan", "provenance_sheet", "reasons_sheet", "summary_spec", "views_of", "wide_schedule",
]
