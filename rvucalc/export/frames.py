"""Result frames built for export: the codes x localities :func:`compare` frame and Quote rows."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

import pandas as pd

from ..calc.money import round_cents
from .formats import declare_kinds
from .provenance import provenance_of

#: What the numeric columns of :func:`compare` and :func:`quotes_frame` hold.
KINDS = {"nonfacility": "money", "facility": "money", "site_difference": "money",
         "conversion_factor": "conversion_factor"}


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
    return declare_kinds(df, KINDS)


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
    from ..errors import UnknownLocalityError

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
    rural: bool | str | None = None,
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
    imaging cap applied), ``conversion_factor, release, fee_schedule`` (``pfs``, or
    ``clfs``/``asp``/``dmepos``: a lab test, drug or DME item priced per unit from its own
    schedule, whose release ``release`` then names; :meth:`rvucalc.FeeSchedule.schedule`). Amounts are the
    library's cent-rounded (half up) amounts; ``site_difference`` is their
    difference. ``attrs`` carry the summary layout and the provenance, so
    ``to_excel(compare(...), "rates.xlsx")`` needs nothing else.
    """
    if isinstance(codes, str):
        codes = [codes]
    ids = _expand_localities(fs, localities, state)
    parts = []
    if national:
        parts.append(fs.schedule(codes, national=True, rural=rural))
    if ids:
        parts.append(fs.schedule(codes, ids, rural=rural))
    fee_sources = [x for p in parts for x in p.attrs.get("rvucalc.fee_sources", [])]  # lab, drug, DME files
    long = pd.concat([p.astype({c: object for c in ("hcpcs", "modifier", "locality_id", "setting", "reason",
                                                    "status", "global_days", "fee_schedule") if c in p})
                      for p in parts],
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
    first = long.drop_duplicates(keys)[keys + ["status", "conversion_factor", "release", "fee_schedule"]]
    out = out.merge(first, on=keys, how="left")
    rv = fs.rvus[["hcpcs", "modifier", "description"]]
    out = out.merge(rv, on=["hcpcs", "modifier"], how="left")
    out["description"] = out["description"].fillna("")  # a code not on the PFS: no description, ""
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
            "nonfacility_capped", "facility_capped", "conversion_factor", "release", "fee_schedule"]
    out = out[cols]
    code_cols = ["hcpcs", "modifier"] if (out["modifier"] != "").any() else ["hcpcs"]
    out.attrs["rvucalc.summary"] = {"index": ["locality_id", "state", "locality_name"], "columns": code_cols,
                                    "values": ["nonfacility", "facility"],
                                    "title": "PFS office (non-facility) and facility amounts by locality"}
    out.attrs["rvucalc.provenance"] = provenance_of(fs, *fee_sources)
    return declare_kinds(out, KINDS)


def concat(frames: Iterable[pd.DataFrame], **kwargs: Any) -> pd.DataFrame:
    """``pd.concat`` that keeps what the frames came from: ``rvucalc.concat([a, b])``.

    pandas keeps ``DataFrame.attrs`` through ``pd.concat`` only when every frame's attrs are
    equal, so frames of different codes, places or releases lose their sources. Here the
    result's ``attrs["rvucalc.provenance"]`` lists every source (and parameter) of every frame,
    its notes are theirs (each once) and its declared column kinds are theirs; the layout hints
    (``rvucalc.kind``, ``rvucalc.summary``, ``rvucalc.formats``) are kept when all frames agree.
    *kwargs* go to :func:`pandas.concat` (e.g. ``ignore_index=True``).
    """
    frames = list(frames)
    out = pd.concat(frames, **kwargs)
    attrs: dict[str, Any] = {"rvucalc.provenance": provenance_of(*frames)}
    notes = list(dict.fromkeys(n for f in frames for n in f.attrs.get("rvucalc.notes", ())))
    if notes:
        attrs["rvucalc.notes"] = notes
    kinds: dict[str, Any] = {}
    for f in frames:
        kinds.update(f.attrs.get("rvucalc.kinds") or {})
    if kinds:
        attrs["rvucalc.kinds"] = kinds
    for key in ("rvucalc.kind", "rvucalc.summary", "rvucalc.formats"):
        vals = [f.attrs.get(key) for f in frames]
        if vals and vals[0] is not None and all(v == vals[0] for v in vals):
            attrs[key] = vals[0]
    out.attrs = attrs
    return out


__all__ = ["concat", "compare", "quotes_frame"]
