"""Writing result tables to files (CSV, parquet, Excel) safely, and rate comparisons.

Text cells that a spreadsheet would run as a formula (starting with ``=``,
``+``, ``-``, ``@``, tab or carriage return; OWASP "CSV injection") never
become formulas:

* in CSV they are written with a leading apostrophe (:func:`neutralise`);
* in Excel workbooks written by :func:`to_excel` they are stored as text
  cells (shared strings, never ``<f>`` formula elements) with Excel's
  "quote prefix" flag, so the cell keeps its exact text and stays text when
  a person edits it.

:func:`to_excel` writes any result frame (a :meth:`FeeSchedule.schedule`, a
:func:`compare` frame, a release :func:`rvucalc.diff.diff`, a site-of-service
comparison or a repricing result from the other calculators, or a list of
:class:`rvucalc.models.Quote`) as an analyst's workbook: a summary pivot with
a native bar chart, a detail sheet per view and a provenance sheet.

Generic hooks (for calculators whose frames this module does not know):

``df.attrs["rvucalc.summary"]``
    ``{"index": [...], "columns": [...], "values": [...], "agg": "first",
    "chart": True, "title": "..."}``: how to pivot the frame for the summary
    sheet (see :class:`Summary`).
``df.attrs["rvucalc.formats"]``
    ``{column: excel number format}``, overriding the formats guessed from
    column names (:func:`column_format`).
``df.attrs["rvucalc.provenance"]``
    anything :func:`provenance_of` understands (a plain dict
    ``{"sources": [...], "parameters": {...}}`` is best: attrs are copied).
An object passed as ``provenance=`` may define ``provenance()`` returning
such a dict; objects with a ``sources`` attribute (``FeeSchedule``) and
pydantic :class:`~rvucalc.models.Source` / :class:`~rvucalc.models.Quote`
objects are understood directly.
"""

from __future__ import annotations

import datetime as _dt
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .calc.money import round_cents

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")

#: Excel number formats used by :func:`to_excel` (tests compare against these).
CURRENCY_FORMAT = '"$"#,##0.00;[Red]-"$"#,##0.00'
CF_FORMAT = '"$"#,##0.0000'
PERCENT_FORMAT = '0.00"%"'  # values are percent points: 4.33 means 4.33%
RVU_FORMAT = "0.00"
GPCI_FORMAT = "0.000"
INDEX_FORMAT = "0.0000"
COUNT_FORMAT = "#,##0"

#: Most rows an Excel sheet holds (one is the header).
EXCEL_MAX_ROWS = 1_048_576
#: Largest summary pivot written (cells); bigger ones are left to the detail sheets.
SUMMARY_MAX_CELLS = 1_000_000
#: Largest chart drawn (categories, series).
CHART_MAX_CATEGORIES = 250
CHART_MAX_SERIES = 24

_MONEY_EXACT = {
    "amount", "nonfacility", "facility", "site_difference", "payment", "allowed", "paid", "charge",
    "professional", "technical", "total", "difference", "copay", "copayment", "coinsurance",
    "deductible", "price", "rate", "opps_cap", "limiting_charge", "facility_fee", "beneficiary",
    "medicare", "outlier", "reimbursement", "billed", "charges",
}
_MONEY_RE = re.compile(
    r"(^|_)(amount|payment|paid|allowed|charges?|rate|fee|cost|copay(ment)?|coinsurance|deductible|"
    r"price|difference|usd|dollars|reimbursement|outlier|billed|professional|facility_fee|"
    r"nonfacility|facility|total_payment|opps_cap)$")
_RVU_RE = re.compile(r"(rvu|^pe_(non)?facility$|^total_(non)?facility$|^opps_pe_(non)?facility$|^opps_mp$)")
_SUFFIX_RE = re.compile(r"_(old|new|diff|change|delta|\d{4})$")
_ILLEGAL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


# ---------------------------------------------------------------------------
# CSV / generic tables
# ---------------------------------------------------------------------------
def is_formula_like(value: object) -> bool:
    """True for text a spreadsheet would treat as a formula (``=``, ``+``, ``-``, ``@``, tab, CR)."""
    return isinstance(value, str) and value.startswith(_FORMULA_START)


def neutralise(df: pd.DataFrame) -> pd.DataFrame:
    """Copy of *df* whose text cells cannot be read as spreadsheet formulas (prefixed with ``'``).

    Used for CSV output. Categorical columns are fixed through their
    categories (cheap on millions of rows); column names are fixed too.
    """
    out = df.copy()
    out.columns = [("'" + c) if is_formula_like(c) else c for c in out.columns]
    for c in out.columns:
        col = out[c]
        if isinstance(col.dtype, pd.CategoricalDtype):
            cats = col.cat.categories
            if cats.dtype == object or pd.api.types.is_string_dtype(cats):
                bad = [is_formula_like(v) for v in cats]
                if any(bad):
                    new = [("'" + v) if b else v for v, b in zip(cats, bad)]
                    if len(set(new)) == len(new):
                        out[c] = col.cat.rename_categories(new)
                    else:  # a fixed value collides with an existing one: give up the categories
                        s = col.astype(object)
                        out[c] = s.map(lambda v: ("'" + v) if is_formula_like(v) else v)
        elif col.dtype == object or pd.api.types.is_string_dtype(col):
            s = col.astype(object)
            txt = s.map(is_formula_like).astype(bool)
            if txt.any():
                out[c] = s.where(~txt, "'" + s.astype(str))
    return out


def write_table(
    df: pd.DataFrame,
    path: str | Path,
    *,
    provenance: Any = None,
    title: str | None = None,
) -> Path:
    """Write *df* by file extension: .csv, .parquet, .json or .xlsx (a full :func:`to_excel` workbook)."""
    p = Path(path)
    ext = p.suffix.lower()
    if ext == ".parquet":
        df.to_parquet(p, index=False)
    elif ext in (".xlsx", ".xlsm"):
        to_excel(df, p, provenance=provenance, title=title)
    elif ext == ".json":
        df.to_json(p, orient="records", indent=2)
    else:
        # CRLF rows (RFC 4180) also make the writer quote text holding a CR or LF
        neutralise(df).to_csv(p, index=False, lineterminator="\r\n")
    return p


# ---------------------------------------------------------------------------
# Number formats
# ---------------------------------------------------------------------------
def column_format(name: str, dtype: Any) -> str | None:
    """Excel number format for a column, guessed from its canonical name; None for General.

    Money (``amount``, ``nonfacility``, ``*_payment``, ``*_old``/``*_new``/``*_diff``
    of those, ...) gets :data:`CURRENCY_FORMAT`; ``*_pct`` gets
    :data:`PERCENT_FORMAT` (values in percent points); conversion factors
    :data:`CF_FORMAT`; RVUs :data:`RVU_FORMAT`; GPCIs :data:`GPCI_FORMAT`.
    """
    if not (pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype)):
        return None
    n = str(name).lower()
    if n.endswith(("_pct", "pct_change", "_percent")) or n in ("pct", "percent"):
        return PERCENT_FORMAT
    base = _SUFFIX_RE.sub("", n)
    if "conversion_factor" in base or base in ("cf", "anes_cf"):
        return CF_FORMAT
    if "gpci" in base:
        return GPCI_FORMAT
    if "wage_index" in base or base.endswith("_index"):
        return INDEX_FORMAT
    if _RVU_RE.search(base):
        return RVU_FORMAT
    if base in _MONEY_EXACT or _MONEY_RE.search(base):
        return CURRENCY_FORMAT
    if base in ("count", "n", "codes", "rows", "units") and pd.api.types.is_integer_dtype(dtype):
        return COUNT_FORMAT
    return None


# ---------------------------------------------------------------------------
# Summary pivot
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Summary:
    """How to pivot a result frame for the summary sheet.

    ``index`` columns become the rows, the distinct values of ``columns``
    become the column headers (one per value column in ``values``), ``agg``
    combines rows sharing a cell (``"first"``, ``"sum"``, ``"mean"``,
    ``"count"``, ``"min"``, ``"max"``). ``chart`` draws the native bar chart.
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
        return cls(**d)


_SITE_COLS = ("site", "setting", "place_of_service", "pos")
_VALUE_PREFERENCE = ("amount", "payment", "total_payment", "allowed", "paid", "total")


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
    num = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and not pd.api.types.is_bool_dtype(df[c])]
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


def pivot(df: pd.DataFrame, spec: Summary) -> tuple[pd.DataFrame, dict[str, str]]:
    """The summary table for *spec*: index columns then one column per (column keys, value).

    Returns the flat frame and a map of value column label -> source value
    column (for number formats). Rows keep their first-seen order.
    """
    keys = list(spec.index) + list(spec.columns)
    vals = list(spec.values)
    sub = df[keys + vals].copy()
    for c in keys:
        if isinstance(sub[c].dtype, pd.CategoricalDtype):
            sub[c] = sub[c].astype(object)
        sub[c] = sub[c].astype(object).where(sub[c].notna(), "")
    g = sub.groupby(keys, sort=False, dropna=False)[vals]
    if spec.agg == "first":
        agg = g.first()
    elif spec.agg == "count":
        agg = g.count()
    elif spec.agg == "sum":
        agg = g.sum(min_count=1)
    else:
        agg = g.agg(spec.agg)
    labels: dict[str, str] = {}
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
                label = " ".join(parts)
                flat.append(label)
                order.append((v, *ck))
                labels[label] = v
        wide = wide[order]
        wide.columns = flat
    else:
        wide = agg
        labels = {v: v for v in vals}
    out = wide.reset_index()
    return out, labels


# ---------------------------------------------------------------------------
# Provenance
# ---------------------------------------------------------------------------
@dataclass
class Provenance:
    """Files and parameters behind a result (what the provenance sheet lists)."""

    sources: list[dict[str, Any]] = field(default_factory=list)
    parameters: dict[str, Any] = field(default_factory=dict)

    def add_source(self, s: Mapping[str, Any]) -> None:
        row = {k: s.get(k, "") for k in ("release", "release_label", "table", "file", "sha256", "origin",
                                          "verified", "note")}
        key = (row["release"], row["table"], row["file"], row["sha256"])
        if all((r["release"], r["table"], r["file"], r["sha256"]) != key for r in self.sources):
            self.sources.append(row)

    def add_parameter(self, name: str, value: Any) -> None:
        if value is None or (isinstance(value, float) and math.isnan(value)):
            return
        old = self.parameters.get(name)
        if old is None:
            self.parameters[name] = value
        elif old != value:
            olds = old if isinstance(old, list) else [old]
            if value not in olds:
                self.parameters[name] = olds + [value]

    def as_dict(self) -> dict[str, Any]:
        return {"sources": list(self.sources), "parameters": dict(self.parameters)}


def _is_source(obj: Any) -> bool:
    return all(hasattr(obj, a) for a in ("release", "file", "sha256")) and not hasattr(obj, "rvus")


def _source_dict(obj: Any) -> dict[str, Any]:
    if isinstance(obj, Mapping):
        return dict(obj)
    if hasattr(obj, "model_dump"):
        return obj.model_dump()
    return {k: getattr(obj, k, "") for k in ("release", "release_label", "table", "file", "sha256",
                                              "origin", "verified", "note")}


def _collect(obj: Any, prov: Provenance, depth: int = 0) -> None:
    if obj is None or depth > 6:
        return
    from .models import Quote  # local: models imports pydantic only

    if isinstance(obj, Provenance):
        for s in obj.sources:
            prov.add_source(s)
        for k, v in obj.parameters.items():
            prov.add_parameter(k, v)
        return
    if isinstance(obj, pd.DataFrame):
        _collect(obj.attrs.get("rvucalc.provenance"), prov, depth + 1)
        if "release" in obj.columns:
            prov.add_parameter("releases in the data", ", ".join(map(str, pd.unique(obj["release"].astype(str)))))
        if "conversion_factor" in obj.columns:
            cfs = sorted(set(float(x) for x in pd.unique(obj["conversion_factor"].dropna())))
            if cfs:
                prov.add_parameter("conversion factors in the data", ", ".join(f"{x:.4f}" for x in cfs))
        return
    if isinstance(obj, Quote):
        for s in obj.sources:
            prov.add_source(_source_dict(s))
        prov.add_parameter(f"conversion factor ({obj.release})", obj.conversion_factor)
        prov.add_parameter(f"conversion factor kind ({obj.release})", obj.conversion_factor_kind)
        prov.add_parameter("work GPCI 1.0 floor", obj.work_gpci_floor)
        return
    if _is_source(obj):
        prov.add_source(_source_dict(obj))
        return
    hook = getattr(obj, "provenance", None)
    if hook is not None and not isinstance(obj, Mapping | str):
        _collect(hook() if callable(hook) else hook, prov, depth + 1)
        return
    if isinstance(obj, Mapping):
        if "sha256" in obj and "file" in obj:
            prov.add_source(obj)
        elif "sources" in obj or "parameters" in obj:
            _collect(list(obj.get("sources", []) or []), prov, depth + 1)
            for k, v in (obj.get("parameters") or {}).items():
                prov.add_parameter(str(k), v)
            for k, v in obj.items():
                if k not in ("sources", "parameters"):
                    prov.add_parameter(str(k), v)
        elif obj and all(_is_source(v) or (isinstance(v, Mapping) and "sha256" in v) for v in obj.values()):
            for v in obj.values():
                prov.add_source(_source_dict(v))
        else:
            for k, v in obj.items():
                if isinstance(v, Mapping) and "sha256" in v:
                    prov.add_source(v)
                else:
                    prov.add_parameter(str(k), v)
        return
    if isinstance(obj, list | tuple | set | frozenset):
        for x in obj:
            _collect(x, prov, depth + 1)
        return
    sources = getattr(obj, "sources", None)
    if sources is not None:  # a FeeSchedule or another calculator
        _collect(list(sources.values()) if isinstance(sources, Mapping) else list(sources), prov, depth + 1)
        rel = getattr(obj, "release", None)
        rid = getattr(rel, "id", rel)
        if rel is not None and hasattr(rel, "label"):
            prov.add_parameter(f"release {rid}", rel.label)
        for attr, label in (("conversion_factor", "conversion factor"),
                            ("conversion_factor_kind", "conversion factor kind"),
                            ("work_floor", "work GPCI 1.0 floor"), ("wage_index", "wage index"),
                            ("options", "options")):
            v = getattr(obj, attr, None)
            if v is not None and not callable(v):
                prov.add_parameter(f"{label} ({rid})" if rid and attr.startswith("conversion") else label,
                                   v if isinstance(v, str | int | float | bool) else str(v))
        return
    prov.add_parameter("note", str(obj))


def provenance_of(*objs: Any) -> dict[str, Any]:
    """``{"sources": [...], "parameters": {...}}`` for FeeSchedules, Quotes, Sources, frames or dicts.

    Plain data (no library objects), so it can be kept in ``DataFrame.attrs``.
    """
    prov = Provenance()
    for o in objs:
        _collect(o, prov)
    return prov.as_dict()


# ---------------------------------------------------------------------------
# Quotes and comparisons
# ---------------------------------------------------------------------------
def quotes_frame(quotes: Iterable[Any]) -> pd.DataFrame:
    """One row per :class:`~rvucalc.models.Quote`, in the :func:`compare` layout."""
    rows = []
    qs = list(quotes)
    for q in qs:
        loc = q.locality
        rows.append({
            "hcpcs": q.hcpcs, "modifier": q.modifier, "description": q.description, "status": q.status,
            "locality_id": "national" if loc is None else loc.locality_id,
            "state": "" if loc is None else loc.state,
            "locality_name": "NATIONAL" if loc is None else loc.name,
            "zip": q.zip or "",
            "nonfacility": q.nonfacility.amount, "facility": q.facility.amount,
            "nonfacility_reason": q.nonfacility.reason.code if q.nonfacility.reason else "",
            "facility_reason": q.facility.reason.code if q.facility.reason else "",
            "nonfacility_capped": q.nonfacility.opps_capped, "facility_capped": q.facility.opps_capped,
            "conversion_factor": q.conversion_factor, "release": q.release,
        })
    df = pd.DataFrame(rows)
    if not df.empty:
        df["nonfacility"] = df["nonfacility"].astype(float)
        df["facility"] = df["facility"].astype(float)
        df["site_difference"] = round_cents(df["nonfacility"] - df["facility"])
    df.attrs["rvucalc.provenance"] = provenance_of(qs)
    return df


def _expand_localities(fs: Any, localities: Iterable[str] | str | None, state: str | Iterable[str] | None) -> list[str]:
    gp = fs.gpci
    states = set(gp["state"].astype(str))
    ids: list[str] = []
    wanted_states: list[str] = []
    if state is not None:
        wanted_states += [state] if isinstance(state, str) else list(state)
    if isinstance(localities, str):
        localities = [localities]
    for x in localities or []:
        t = str(x).strip()
        if t.upper() in ("ALL", "*"):
            ids.extend(gp["locality_id"])
        elif t.isalpha() and len(t) == 2:
            wanted_states.append(t)
        elif t.lower() not in ("national", "us"):
            lid = fs.resolve_locality(t)
            if lid is not None:
                ids.append(lid)
    from .errors import UnknownLocalityError

    for s in wanted_states:
        if s.upper() not in states:
            raise UnknownLocalityError(f"{s!r} is not a state in {fs.sources['gpci'].file} "
                                       f"(states: {', '.join(sorted(states))})")
        ids.extend(gp.loc[gp["state"] == s.upper(), "locality_id"])
    if localities is None and state is None:
        ids = list(gp["locality_id"])
    return list(dict.fromkeys(ids))


def compare(
    fs: Any,
    codes: Sequence[str] | str,
    localities: Iterable[str] | str | None = None,
    *,
    state: str | Iterable[str] | None = None,
    national: bool = True,
) -> pd.DataFrame:
    """Codes × localities comparison of PFS office (non-facility) and facility amounts.

    Parameters
    ----------
    fs:
        A :class:`rvucalc.FeeSchedule`.
    codes:
        HCPCS codes, optionally with a priced modifier (``"71046-26"``).
    localities:
        Locality ids (``"01182-18"``), two-letter states (``"CA"``: every
        locality of the state) or ``"all"``. Default: all 109 localities, or
        those of *state*.
    state:
        Two-letter state (or several) whose localities are added.
    national:
        Add a first ``national`` row per code (GPCIs 1.0).

    Returns one row per code × locality with columns ``hcpcs, modifier,
    description, status, locality_id, state, locality_name, nonfacility,
    facility, site_difference`` (office minus facility), ``nonfacility_reason,
    facility_reason`` (reason codes, ``""`` when payable; see
    :func:`rvucalc.explain`), ``nonfacility_capped, facility_capped`` (OPPS
    imaging cap applied), ``conversion_factor, release``. Amounts are the
    library's cent-rounded (half up) amounts; ``site_difference`` is their
    difference. ``attrs`` carry the summary layout and the provenance, so
    ``to_excel(compare(...), "rates.xlsx")`` needs nothing else.
    """
    if isinstance(codes, str):
        codes = [codes]
    ids = _expand_localities(fs, localities, state)
    parts = []
    if national:
        parts.append(fs.schedule(codes, national=True))
    if ids:
        parts.append(fs.schedule(codes, ids))
    long = pd.concat([p.astype({c: object for c in ("hcpcs", "modifier", "locality_id", "setting", "reason",
                                                    "status", "global_days")}) for p in parts],
                     ignore_index=True)
    keys = ["hcpcs", "modifier", "locality_id"]
    out = None
    for setting in ("nonfacility", "facility"):
        part = long.loc[long["setting"] == setting, keys + ["amount", "reason", "opps_capped"]].rename(
            columns={"amount": setting, "reason": f"{setting}_reason", "opps_capped": f"{setting}_capped"})
        out = part if out is None else out.merge(part, on=keys, how="outer", sort=False)
    assert out is not None
    out = out.astype({"nonfacility": float, "facility": float, "nonfacility_reason": str, "facility_reason": str,
                      "nonfacility_capped": bool, "facility_capped": bool})
    first = long.drop_duplicates(keys)[keys + ["status", "conversion_factor", "release"]]
    out = out.merge(first, on=keys, how="left")
    rv = fs.rvus[["hcpcs", "modifier", "description"]]
    out = out.merge(rv, on=["hcpcs", "modifier"], how="left")
    loc = fs.localities[["locality_id", "state", "locality_name"]]
    out = out.merge(loc, on="locality_id", how="left")
    nat = out["locality_id"] == "national"
    out.loc[nat, "state"] = ""
    out.loc[nat, "locality_name"] = "NATIONAL"
    out["site_difference"] = round_cents(out["nonfacility"] - out["facility"])
    # order: codes as asked, national first, then localities as asked
    order_loc = {lid: i for i, lid in enumerate(["national"] + ids)}
    order_code = {c: i for i, c in enumerate(dict.fromkeys(out["hcpcs"]))}
    asked = [str(c).strip().upper()[:5] for c in codes]
    order_code = {c: asked.index(c) if c in asked else len(asked) + i for c, i in order_code.items()}
    out = out.sort_values(["hcpcs", "modifier", "locality_id"],
                          key=lambda s: s.map(order_code) if s.name == "hcpcs" else (
                              s.map(order_loc) if s.name == "locality_id" else s)).reset_index(drop=True)
    cols = ["hcpcs", "modifier", "description", "status", "locality_id", "state", "locality_name",
            "nonfacility", "facility", "site_difference", "nonfacility_reason", "facility_reason",
            "nonfacility_capped", "facility_capped", "conversion_factor", "release"]
    out = out[cols]
    code_cols = ["hcpcs", "modifier"] if (out["modifier"] != "").any() else ["hcpcs"]
    out.attrs["rvucalc.summary"] = {"index": ["locality_id", "state", "locality_name"], "columns": code_cols,
                                    "values": ["nonfacility", "facility"],
                                    "title": "PFS office (non-facility) and facility amounts by locality"}
    out.attrs["rvucalc.provenance"] = provenance_of(fs)
    return out


# ---------------------------------------------------------------------------
# Excel
# ---------------------------------------------------------------------------
def _sheet_title(name: str, used: set[str]) -> str:
    t = re.sub(r"[\[\]:*?/\\]", " ", str(name)).strip().strip("'") or "Sheet"
    t = t[:31]
    base, i = t, 2
    while t.lower() in used:
        suffix = f" ({i})"
        t = base[: 31 - len(suffix)] + suffix
        i += 1
    used.add(t.lower())
    return t


def _clean_text(v: str) -> str:
    if _ILLEGAL_RE.search(v):
        v = _ILLEGAL_RE.sub("\ufffd", v)
    if len(v) > 32767:
        v = v[:32767]
    return v


def _needs_cell(v: Any) -> bool:
    """A text value that must be written through a styled text cell (formula-like, illegal, too long)."""
    return isinstance(v, str) and (v.startswith(_FORMULA_START) or len(v) > 32767
                                   or _ILLEGAL_RE.search(v) is not None)


def _column_values(s: pd.Series) -> list[Any]:
    """A column as Python values for openpyxl: NaN/NA/NaT -> None, numpy scalars -> Python."""
    if isinstance(s.dtype, pd.CategoricalDtype):
        s = s.astype(object)
    if pd.api.types.is_bool_dtype(s.dtype) and not s.hasnans:
        return s.to_numpy(dtype=bool).tolist()
    if pd.api.types.is_float_dtype(s.dtype):
        a = s.to_numpy(dtype=float, na_value=np.nan)
        vals: list[Any] = a.tolist()
        if np.isnan(a).any():
            vals = [None if x != x else x for x in vals]
        return vals
    if pd.api.types.is_integer_dtype(s.dtype) and not s.hasnans:
        return s.to_numpy().tolist()
    if pd.api.types.is_datetime64_any_dtype(s.dtype):
        if getattr(s.dt, "tz", None) is not None:
            s = s.dt.tz_localize(None)
        return [None if pd.isna(x) else x.to_pydatetime() for x in s]
    out = s.astype(object).tolist()
    return [None if (x is None or x is pd.NA or (isinstance(x, float) and x != x) or x is pd.NaT)
            else (x.item() if isinstance(x, np.generic) else x) for x in out]


def _width(header: str, s: pd.Series, fmt: str | None) -> float:
    n = len(str(header))
    if fmt is not None:
        m = 10 if fmt in (CURRENCY_FORMAT, CF_FORMAT) else 7
        try:
            a = np.abs(s.to_numpy(dtype=float, na_value=np.nan))
            a = a[~np.isnan(a)]
            if a.size:
                m = max(m, len(f"{float(a.max()):,.2f}") + 3)
        except (ValueError, TypeError):
            pass
        n = max(n, m)
    else:
        sample = s.iloc[:2000]
        if isinstance(sample.dtype, pd.CategoricalDtype):
            sample = sample.astype(object)
        try:
            lens = sample.astype(str).str.len()
            n = max(n, int(lens.max()) if len(lens) else 0)
        except (TypeError, ValueError):
            pass
    return float(min(max(n + 2, 8), 60))


class _SheetWriter:
    """Writes frames into write-only worksheets with styles, text safety and layout."""

    def __init__(self, wb: Any) -> None:
        from openpyxl.styles import Alignment, Font, PatternFill

        self.wb = wb
        self.used: set[str] = set()
        self.header_font = Font(bold=True, color="FFFFFF")
        self.header_fill = PatternFill("solid", fgColor="1F4E78")
        self.title_font = Font(bold=True, size=14)
        self.bold = Font(bold=True)
        self.wrap = Alignment(wrap_text=False, vertical="top")

    def cell(self, ws: Any, value: Any, *, fmt: str | None = None, font: Any = None, fill: Any = None) -> Any:
        from openpyxl.cell import WriteOnlyCell

        if isinstance(value, str):
            value = _clean_text(value)
        c = WriteOnlyCell(ws, value)
        if isinstance(value, str) and (c.data_type == "f" or value.startswith(_FORMULA_START)):
            c.data_type = "s"
            c.quotePrefix = True
        if fmt:
            c.number_format = fmt
        if font is not None:
            c.font = font
        if fill is not None:
            c.fill = fill
        return c

    def text_row(self, ws: Any, values: Sequence[Any], **kw: Any) -> list[Any]:
        return [self.cell(ws, v, **kw) for v in values]

    def frame(
        self,
        name: str,
        df: pd.DataFrame,
        *,
        formats: Mapping[str, str | None],
        preamble: Sequence[Sequence[Any]] = (),
        freeze_cols: int = 0,
    ) -> tuple[Any, int, int]:
        """Write *df* on a new sheet below *preamble* lines; returns (sheet, header row, last row)."""
        from openpyxl.utils import get_column_letter

        ws = self.wb.create_sheet(_sheet_title(name, self.used))
        cols = list(df.columns)
        fmts = [formats.get(c) for c in cols]
        for j, c in enumerate(cols, start=1):
            ws.column_dimensions[get_column_letter(j)].width = _width(c, df[c], fmts[j - 1])
        header_row = len(preamble) + 1
        ws.freeze_panes = f"{get_column_letter(freeze_cols + 1)}{header_row + 1}"
        last_col = get_column_letter(max(len(cols), 1))
        ws.auto_filter.ref = f"A{header_row}:{last_col}{header_row + len(df)}"
        for i, line in enumerate(preamble):
            ws.append([self.cell(ws, v, font=self.title_font if i == 0 else None) for v in line])
        ws.append([self.cell(ws, str(c), font=self.header_font, fill=self.header_fill) for c in cols])
        columns: list[list[Any]] = []
        templates: dict[int, Any] = {}
        for j, (c, fmt) in enumerate(zip(cols, fmts)):
            vals = _column_values(df[c])
            if fmt is not None and pd.api.types.is_numeric_dtype(df[c].dtype):
                # one styled cell per column, re-used row after row: the write-only sheet
                # serialises each appended row at once, so only its value changes
                templates[j] = self.cell(ws, None, fmt=fmt)
            elif fmt is not None:
                vals = [self.cell(ws, v, fmt=fmt) if v is not None else None for v in vals]
            elif not (pd.api.types.is_numeric_dtype(df[c].dtype) or pd.api.types.is_bool_dtype(df[c].dtype)):
                vals = [self.cell(ws, v) if _needs_cell(v) else v for v in vals]
            columns.append(vals)
        if templates:
            tmpl = list(templates.items())
            for row in zip(*columns):
                out = list(row)
                for j, cell in tmpl:
                    v = out[j]
                    if v is not None:
                        cell.value = v
                        out[j] = cell
                ws.append(out)
        else:
            for row in zip(*columns):
                ws.append(row)
        return ws, header_row, header_row + len(df)


def _views(result: Any) -> dict[str, pd.DataFrame]:
    from .models import Quote

    if isinstance(result, pd.DataFrame):
        return {"Detail": result}
    if isinstance(result, Quote):
        return {"Quotes": quotes_frame([result])}
    if isinstance(result, Mapping):
        out = {}
        for k, v in result.items():
            out.update({str(k): _views(v)["Detail" if isinstance(v, pd.DataFrame) else "Quotes"]})
        return out
    if isinstance(result, Iterable) and not isinstance(result, str | bytes):
        items = list(result)
        if all(isinstance(x, Quote) for x in items):
            return {"Quotes": quotes_frame(items)}
    raise TypeError("to_excel() takes a DataFrame, a Quote, a list of Quotes or a dict of those "
                    f"(one detail sheet each), not {type(result).__name__}")


def _formats(df: pd.DataFrame, extra: Mapping[str, str] | None) -> dict[str, str | None]:
    f: dict[str, str | None] = {c: column_format(c, df[c].dtype) for c in df.columns}
    f.update(df.attrs.get("rvucalc.formats") or {})
    f.update(extra or {})
    return f


def _add_chart(ws: Any, table: pd.DataFrame, spec: Summary, header_row: int, labels: Sequence[str],
               title: str) -> Any:
    from openpyxl.chart import BarChart, Reference
    from openpyxl.utils import get_column_letter

    n_idx = len(spec.index)
    ncat = len(table)
    ch = BarChart()
    ch.type = "bar" if ncat > 12 else "col"
    ch.grouping = "clustered"
    ch.title = title
    money = spec.agg != "count" and any(column_format(v, float) == CURRENCY_FORMAT for v in spec.values)
    ch.y_axis.title = "Medicare payment ($)" if money else ("rows" if spec.agg == "count" else ", ".join(spec.values))
    ch.y_axis.number_format = '"$"#,##0' if money else "General"
    ch.x_axis.delete = False
    ch.y_axis.delete = False
    if ch.type == "bar":
        ch.x_axis.scaling.orientation = "maxMin"  # first row at the top, like the table
    cat_cols = [i for i, c in enumerate(spec.index, start=1) if c != "locality_id"] or [1]
    if len(cat_cols) > 1 and "locality_name" in spec.index:
        cat_cols = [list(spec.index).index("locality_name") + 1]
    data = Reference(ws, min_col=n_idx + 1, max_col=n_idx + len(labels), min_row=header_row,
                     max_row=header_row + ncat)
    ch.add_data(data, titles_from_data=True)
    ch.set_categories(Reference(ws, min_col=cat_cols[0], max_col=cat_cols[-1], min_row=header_row + 1,
                                max_row=header_row + ncat))
    ch.width = 24
    ch.height = min(max(8.0, 0.45 * ncat * max(1, len(labels)) ** 0.5 + 3), 120.0) if ch.type == "bar" else 10.0
    ch.legend.position = "b"
    ws.add_chart(ch, f"{get_column_letter(n_idx + len(labels) + 2)}{header_row}")
    return ch


def _write_provenance(w: _SheetWriter, prov: Provenance, title: str | None, views: Mapping[str, pd.DataFrame],
                      written: _dt.datetime) -> None:
    import importlib

    ws = w.wb.create_sheet(_sheet_title("Provenance", w.used))
    for col, width in zip("ABCDEFGH", (22, 30, 14, 34, 66, 10, 10, 40)):
        ws.column_dimensions[col].width = width
    try:
        version = importlib.import_module("rvucalc").__version__
    except (ImportError, AttributeError):  # pragma: no cover
        version = "unknown"
    ws.append([w.cell(ws, "Provenance", font=w.title_font)])
    ws.append(w.text_row(ws, ["title", title or ""]))
    ws.append(w.text_row(ws, ["written", written.isoformat(timespec="seconds")]))
    ws.append(w.text_row(ws, ["date", written.date().isoformat()]))
    ws.append(w.text_row(ws, ["rvucalc version", version]))
    for name, df in views.items():
        ws.append([w.cell(ws, f"rows in {name}"), w.cell(ws, len(df), fmt=COUNT_FORMAT)])
    ws.append([])
    ws.append([w.cell(ws, "CMS releases and files used", font=w.bold)])
    hdr = ["release", "release label", "table", "file", "sha256", "origin", "sha256 verified", "note"]
    ws.append([w.cell(ws, h, font=w.header_font, fill=w.header_fill) for h in hdr])
    if not prov.sources:
        ws.append(w.text_row(ws, ["(none given: pass provenance= a FeeSchedule, Quote or Source)"]))
    for s in prov.sources:
        ws.append(w.text_row(ws, [str(s.get("release", "")), str(s.get("release_label", "")),
                                  str(s.get("table", "")), str(s.get("file", "")), str(s.get("sha256", "")),
                                  str(s.get("origin", "")), bool(s.get("verified", False)),
                                  str(s.get("note", ""))]))
    ws.append([])
    ws.append([w.cell(ws, "Parameters and options", font=w.bold)])
    ws.append([w.cell(ws, h, font=w.header_font, fill=w.header_fill) for h in ("name", "value")])
    for k, v in prov.parameters.items():
        if isinstance(v, list):
            v = ", ".join(map(str, v))
        fmt = CF_FORMAT if "conversion factor" in k and isinstance(v, float) else (
            INDEX_FORMAT if "wage index" in k and isinstance(v, float) else None)
        val = v if isinstance(v, str | int | float | bool) else str(v)
        ws.append([w.cell(ws, k), w.cell(ws, val, fmt=fmt)])


def to_excel(
    result: Any,
    path: str | Path,
    *,
    provenance: Any = None,
    title: str | None = None,
    chart: bool = True,
    summary: Summary | Mapping[str, Any] | bool | None = None,
    formats: Mapping[str, str] | None = None,
) -> Path:
    """Write a result as an analyst's workbook (openpyxl, streaming write).

    Parameters
    ----------
    result:
        A DataFrame (schedule, :func:`compare`, :func:`rvucalc.diff.diff`,
        site-of-service comparison, repricing...), a Quote or list of Quotes,
        or a dict ``{view name: frame}`` for one detail sheet per view.
    path:
        The ``.xlsx`` file to write.
    provenance:
        What the numbers came from: a FeeSchedule, Quote(s), Source(s), a dict
        of parameters (``{"wage index": 1.2345, "options": ...}``), or a list of
        those. Added to what the frames' ``attrs["rvucalc.provenance"]`` and
        their ``release``/``conversion_factor`` columns already say.
    title:
        Workbook title (summary sheet heading and provenance).
    chart:
        Draw a native Excel bar chart of the summary.
    summary:
        The summary pivot (:class:`Summary` or dict); ``False`` for none;
        default from the first view's ``attrs["rvucalc.summary"]`` or guessed
        by :func:`summary_spec`.
    formats:
        ``{column: Excel number format}`` overriding the guessed formats.

    Sheets: ``Summary`` (title, the pivot with frozen header and label
    columns, autofilter, currency formats, the chart to its right),
    one detail sheet per view (frozen header row, autofilter, number formats,
    column widths; views longer than an Excel sheet continue on further
    sheets), ``Provenance``. Amounts are written as they are in the frame
    (already cent-rounded by the calculators); nothing is recomputed.
    Text that looks like a formula is written as text.
    """
    from openpyxl import Workbook

    views = _views(result)
    written = _dt.datetime.now().replace(microsecond=0)
    prov = Provenance()
    for df in views.values():
        _collect(df, prov)
    _collect(provenance, prov)

    wb = Workbook(write_only=True)
    w = _SheetWriter(wb)
    first = next(iter(views.values()))
    spec: Summary | None
    if summary is False:
        spec = None
    elif summary is None or summary is True:
        spec = summary_spec(first)
    else:
        spec = Summary.coerce(summary)  # type: ignore[arg-type]
    heading = title or (spec.title if spec and spec.title else "") or "rvucalc results"
    if spec is not None:
        table, labels = pivot(first, spec)
        src_fmt = _formats(first, formats)
        fmts: dict[str, str | None] = {c: src_fmt.get(c) for c in spec.index}
        fmts.update({lab: (COUNT_FORMAT if spec.agg == "count" else src_fmt.get(v)) for lab, v in labels.items()})
        releases = prov.parameters.get("releases in the data") or ", ".join(
            dict.fromkeys(str(s.get("release", "")) for s in prov.sources))
        sub = f"{len(first):,} rows; " + (f"releases: {releases}; " if releases else "") + \
            f"written {written.date().isoformat()}; see the Provenance sheet"
        if table.size > SUMMARY_MAX_CELLS:
            ws = wb.create_sheet(_sheet_title("Summary", w.used))
            ws.append([w.cell(ws, heading, font=w.title_font)])
            ws.append([w.cell(ws, f"The summary would have {table.size:,} cells; see the detail sheets.")])
        else:
            ws, header_row, _ = w.frame("Summary", table, formats=fmts, preamble=[[heading], [sub]],
                                        freeze_cols=len(spec.index))
            if chart and spec.chart and 0 < len(table) <= CHART_MAX_CATEGORIES and \
                    0 < len(labels) <= CHART_MAX_SERIES:
                _add_chart(ws, table, spec, header_row, list(labels), heading)
    chunk = EXCEL_MAX_ROWS - 1
    for name, df in views.items():
        fmts = _formats(df, formats)
        for k, start in enumerate(range(0, max(len(df), 1), chunk)):
            part = df.iloc[start:start + chunk]
            w.frame(name if k == 0 else f"{name} {k + 1}", part, formats=fmts)
    _write_provenance(w, prov, heading, views, written)
    p = Path(path)
    wb.save(p)
    return p


__all__ = [
    "CURRENCY_FORMAT", "CF_FORMAT", "PERCENT_FORMAT", "RVU_FORMAT", "GPCI_FORMAT", "Provenance", "Summary",
    "column_format", "compare", "is_formula_like", "neutralise", "pivot", "provenance_of", "quotes_frame",
    "summary_spec", "to_excel", "write_table",
]
