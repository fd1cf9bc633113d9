"""What changed between two quarters or years of OPPS Addendum B or ASC Addendum AA, and why.

``facility_diff(old, new, system="opps")`` lines up two addenda (as read by
:func:`rvucalc.iotools.opps.read_addendum_b` / :func:`rvucalc.iotools.asc.read_addendum_aa`)
by HCPCS code and says, per code, whether it was added, deleted, changed or
unchanged, which fields changed (status or payment indicator, APC, relative
weight, national payment rate, copayments), whether it moved to another APC, and
splits each national rate's change into its causes in dollars that add up to the
change exactly (:func:`rvucalc.calc.decompose.decompose_rates`: conversion
factor, relative weight, APC move, rates not set by weight × CF, indicator, code
added or deleted). :func:`facility_release_diff` does the same for two
catalogued releases (``opps-2024-01``, ``asc-2025-07``...).

Conversion factors: OPPS, CY 2024 $87.382 (CMS-1786-FC), CY 2025 $89.169
(CMS-1809-FC), CY 2026 $91.415 (CMS-1834-FC, 90 FR 53448), for hospitals meeting
the OQR requirements; ASC from :func:`rvucalc.calc.asc.asc_conversion_factor`.
Rates are CMS's national (unadjusted) rates as printed, in dollars and cents.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from .calc import asc as asc_calc
from .calc import decompose as dec
from .calc import opps as opps_calc
from .calc.money import round_cents
from .reasons import reason

#: OPPS conversion factor by calendar year (hospitals meeting OQR requirements) and its rule.
OPPS_CF: dict[int, tuple[float, str]] = {
    2024: (87.382, "CY 2024 OPPS/ASC final rule with comment period (CMS-1786-FC)"),
    2025: (89.169, "CY 2025 OPPS/ASC final rule with comment period (CMS-1809-FC)"),
    2026: (91.415, "CY 2026 OPPS/ASC final rule with comment period (CMS-1834-FC, 90 FR 53448)"),
}

_FIELDS = {
    "opps": ("status_indicator", "apc", "relative_weight", "payment_rate", "national_copay", "minimum_copay"),
    "asc": ("payment_indicator", "relative_weight", "payment_rate", "multiple_procedure_discount"),
}
_TEXT = {"status_indicator", "apc", "payment_indicator", "multiple_procedure_discount"}
CHANGES = ("added", "deleted", "changed", "unchanged", "not listed")
NOT_LISTED = reason("FACILITY_CODE_ABSENT", "the code is in neither addendum compared",
                    "CMS OPPS Addendum B / ASC Addendum AA: the codes each quarter lists")


def conversion_factor(system: str, year: int) -> float:
    """The OPPS or ASC conversion factor of calendar year *year* (ValueError if not known)."""
    if system == "opps":
        if year not in OPPS_CF:
            raise ValueError(f"no OPPS conversion factor known for CY{year}; known: {sorted(OPPS_CF)}")
        return OPPS_CF[year][0]
    try:
        return asc_calc.asc_conversion_factor(year).value
    except KeyError as exc:
        raise ValueError(str(exc)) from None


def _year(df: pd.DataFrame, given: int | None, side: str) -> int:
    if given is not None:
        return int(given)
    q = str(df.attrs.get("quarter") or "")
    if q[:4].isdigit():
        return int(q[:4])
    raise ValueError(f"say which calendar year the {side} addendum is (year_{side}=2025): its frame does "
                     "not name its quarter")


def _reasons(df: pd.DataFrame, system: str) -> np.ndarray:
    """Reason code per row (``""`` where the addendum gives a separately paid national rate)."""
    rate = df["payment_rate"].astype(float)
    if system == "opps":
        return opps_calc.status_reason(df["status_indicator"], rate).to_numpy(dtype=object)
    pi = df["payment_indicator"].astype(str).str.strip().str.upper()
    table = asc_calc.PAYMENT_INDICATORS
    out = pi.map({k: v.reason for k, v in table.items()}).fillna(asc_calc.PI_UNKNOWN.code).astype(str)
    out = out.mask((out == "") & rate.isna(), asc_calc.NO_RATE.code)
    out = out.mask((out == "") & (rate == 0), asc_calc.ZERO_RATE.code)
    return out.to_numpy(dtype=object)


def _other_basis(ind: pd.Series, system: str) -> np.ndarray:
    """True where the rate is not relative weight × CF (OPPS SI G, K, K1: ASP-based drugs;
    ASC payment indicators paid on another basis: K2, H2 from OPPS rates, P3, Z3 from PFS PE RVUs)."""
    i = ind.astype(str).str.strip().str.upper()
    if system == "opps":
        return i.isin(opps_calc.NOT_WAGE_ADJUSTED_SI).to_numpy()
    other = {k for k, v in asc_calc.PAYMENT_INDICATORS.items() if v.paid and not v.cf_based}
    return i.isin(other).to_numpy()


def facility_diff(old: pd.DataFrame, new: pd.DataFrame, *, system: str, year_old: int | None = None,
                  year_new: int | None = None, codes: Sequence[str] | None = None,
                  changed_only: bool = False) -> pd.DataFrame:
    """What changed between two OPPS Addendum B (``system="opps"``) or ASC Addendum AA
    (``"asc"``) frames, and why each national rate moved.

    *year_old* / *year_new* choose the conversion factors (an ASC addendum names its
    quarter; an OPPS one must be told). *codes*: only these HCPCS codes; a code in
    neither addendum gets a row with change ``not listed`` (never dropped silently).

    Returns one row per HCPCS code: ``hcpcs, description, change`` (added, deleted,
    changed, unchanged), ``changed_fields``, ``apc_moved`` (OPPS: the code's APC
    changed), ``<field>_old, <field>_new`` for the indicator (``status_indicator`` or
    ``payment_indicator``), ``apc``, ``relative_weight``, ``payment_rate`` and the
    copayments (OPPS) as printed, ``rate_diff`` (NaN where a side has no rate) and
    ``rate_pct`` of the rates rounded to cents half up (drug rates are printed to a
    tenth of a cent),
    ``reason_old, reason_new`` (why a side has no separately paid rate),
    ``rate_change`` (a side with no rate counting as $0) and ``from_<part>`` for each
    part of :data:`rvucalc.calc.decompose.RATE_PARTS`, which add up to ``rate_change``
    to the cent on every row, then ``conversion_factor_old, conversion_factor_new``.
    """
    if system not in _FIELDS:
        raise ValueError(f"system must be 'opps' or 'asc', not {system!r}")
    y0, y1 = _year(old, year_old, "old"), _year(new, year_new, "new")
    cf0, cf1 = conversion_factor(system, y0), conversion_factor(system, y1)
    fields = [f for f in _FIELDS[system] if f in old.columns and f in new.columns]
    ind = fields[0]
    o = old.drop_duplicates("hcpcs").reset_index(drop=True)
    n = new.drop_duplicates("hcpcs").reset_index(drop=True)
    missing: list[str] = []
    if codes is not None:
        want = {str(c).strip().upper()[:5] for c in ([codes] if isinstance(codes, str) else codes)}
        o, n = o[o["hcpcs"].isin(want)], n[n["hcpcs"].isin(want)]
        missing = sorted(want - set(o["hcpcs"]) - set(n["hcpcs"]))
    o = o.assign(_reason=_reasons(o, system), _other=_other_basis(o[ind], system))
    n = n.assign(_reason=_reasons(n, system), _other=_other_basis(n[ind], system))
    keep = ["hcpcs", "description", *fields, "_reason", "_other"]
    m = o[keep].merge(n[keep], on="hcpcs", how="outer", suffixes=("_old", "_new"), indicator=True)
    m = m.sort_values("hcpcs", kind="stable", ignore_index=True)
    in_old = (m["_merge"] != "right_only").to_numpy()
    in_new = (m["_merge"] != "left_only").to_numpy()
    out = pd.DataFrame({"hcpcs": m["hcpcs"].astype(str),
                        "description": m["description_new"].where(in_new, m["description_old"]).astype(str)})
    changed = np.zeros(len(m), dtype=bool)
    names = np.full(len(m), "", dtype=object)
    for f in fields:  # a few fields, not rows
        a, b = m[f"{f}_old"], m[f"{f}_new"]
        if f in _TEXT:
            a = a.astype(object).where(a.notna(), "").astype(str)
            b = b.astype(object).where(b.notna(), "").astype(str)
            ch = a.to_numpy() != b.to_numpy()
        else:
            av, bv = a.to_numpy(dtype=float, na_value=np.nan), b.to_numpy(dtype=float, na_value=np.nan)
            ch = ~(np.isclose(av, bv, rtol=0, atol=1e-9) | (np.isnan(av) & np.isnan(bv)))
        ch &= in_old & in_new
        changed |= ch
        names = names + np.where(ch & (names != ""), ", ", "") + np.where(ch, f, "")
    out["change"] = np.where(~in_old, "added", np.where(~in_new, "deleted",
                             np.where(changed, "changed", "unchanged")))
    out["changed_fields"] = names
    moved = np.zeros(len(m), dtype=bool)
    if "apc" in fields:
        ao, an = m["apc_old"].fillna("").astype(str), m["apc_new"].fillna("").astype(str)
        moved = (in_old & in_new & (ao != an) & (ao != "") & (an != "")).to_numpy()
        out["apc_moved"] = moved
    for f in fields:
        out[f"{f}_old"], out[f"{f}_new"] = m[f"{f}_old"].to_numpy(), m[f"{f}_new"].to_numpy()
    ro = np.where(in_old, m["_reason_old"].fillna("").astype(str), "").astype(object)
    rn = np.where(in_new, m["_reason_new"].fillna("").astype(str), "").astype(object)
    # drug rates are printed to a tenth of a cent: compared as paid, rounded to cents half up
    rate0 = round_cents(np.where(in_old & (ro == ""), m["payment_rate_old"].to_numpy(dtype=float, na_value=np.nan),
                                 np.nan))
    rate1 = round_cents(np.where(in_new & (rn == ""), m["payment_rate_new"].to_numpy(dtype=float, na_value=np.nan),
                                 np.nan))
    out["rate_diff"] = np.round(rate1 - rate0, 2)
    with np.errstate(divide="ignore", invalid="ignore"):  # as rvucalc.diff.pct_change
        out["rate_pct"] = np.round(np.where(rate0 != 0, (rate1 - rate0) / rate0 * 100.0, np.nan), 2)
    out["reason_old"], out["reason_new"] = ro, rn
    other = (m["_other_old"].fillna(False).astype(bool) | m["_other_new"].fillna(False).astype(bool)).to_numpy()
    d = dec.decompose_rates(rate0, rate1, cf0, cf1, moved=moved, other_basis=other,
                            unpaid0=np.where(in_old, "indicator", "code"),
                            unpaid1=np.where(in_new, "indicator", "code"))
    out["rate_change"] = d.change / 100.0
    for p in dec.RATE_PARTS:
        out[f"from_{p}"] = d.parts[p] / 100.0
    out["conversion_factor_old"], out["conversion_factor_new"] = cf0, cf1
    if missing:
        from .codes import fee_schedule_of

        extra = pd.DataFrame({"hcpcs": missing, "change": "not listed", "changed_fields": "",
                              "rate_change": 0.0, **{f"from_{p}": 0.0 for p in dec.RATE_PARTS},
                              "conversion_factor_old": cf0, "conversion_factor_new": cf1})
        extra["description"] = [f"in neither addendum{': ' + f.hint if (f := fee_schedule_of(c)) else ''}"
                                for c in missing]
        extra["reason_old"] = extra["reason_new"] = NOT_LISTED.code
        out = pd.concat([out, extra.reindex(columns=out.columns)], ignore_index=True)
    if changed_only:
        out = out[out["change"] != "unchanged"].reset_index(drop=True)
    from .export.formats import declare_kinds

    declare_kinds(out, {c: "money" for c in ("rate_diff", "rate_change", *(f"from_{p}" for p in dec.RATE_PARTS))})
    out.attrs["rvucalc.provenance"] = {"sources": [], "parameters": {
        "system": system.upper(), "old": str(old.attrs.get("source", "")), "new": str(new.attrs.get("source", "")),
        "conversion factors": f"CY{y0} ${cf0:.3f} -> CY{y1} ${cf1:.3f}",
        "change decomposition": "rate = relative weight x conversion factor (weight = rate / CF); Shapley "
                                "values of the two factors (the average of both orders), rounded to cents "
                                "by largest remainder (rvucalc.calc.decompose.decompose_rates)"}}
    out.attrs["rvucalc.summary"] = {"index": ["change"], "columns": [], "values": ["hcpcs"], "agg": "count",
                                    "title": f"{system.upper()} changes CY{y0} -> CY{y1}"}
    return out


def facility_release_diff(old_id: str, new_id: str, *, mirror: Any = None, download: bool | None = None,
                          **kwargs: Any) -> pd.DataFrame:
    """:func:`facility_diff` of two catalogued releases (``"opps-2024-01"``, ``"asc-2025-07"``...),
    each read from the mirror or the cache (or downloaded when *download*), with their files'
    provenance. Both must be of one system."""
    from . import catalogue
    from .export import provenance_of
    from .fetch import locate
    from .iotools import asc as asc_io
    from .iotools import opps as opps_io
    from .loading import offline, read_cached, source_of

    rels = [catalogue.get(old_id), catalogue.get(new_id)]
    system = rels[0].system
    if system not in _FIELDS or rels[1].system != system:
        raise ValueError(f"{old_id} and {new_id} must both be OPPS or both ASC releases")
    table, reader = (("addendum_b", opps_io.read_addendum_b) if system == "opps"
                     else ("addendum_aa", asc_io.read_addendum_aa))
    dl = (not offline()) if download is None else download
    frames, sources = [], []
    for r in rels:
        loc = locate(r, table, mirror=mirror, download=dl, progress=False)
        frames.append(read_cached(loc, reader))
        sources.append(source_of(loc))
    out = facility_diff(frames[0], frames[1], system=system, year_old=rels[0].year, year_new=rels[1].year,
                        **kwargs)
    prov = provenance_of(*sources)
    prov["parameters"].update(out.attrs["rvucalc.provenance"]["parameters"])
    prov["parameters"]["old"], prov["parameters"]["new"] = rels[0].label, rels[1].label
    out.attrs["rvucalc.provenance"] = prov
    out["release_old"], out["release_new"] = rels[0].id, rels[1].id
    return out


__all__ = ["CHANGES", "NOT_LISTED", "OPPS_CF", "conversion_factor", "facility_diff", "facility_release_diff"]
