"""Lab, drug and DME codes on the pricing surfaces: ``quote``, ``schedule``, ``compare`` and
``price_volumes`` price them from their own fee schedule (issue 21), one vectorised call per
schedule, and say which (``fee_schedule``: ``clfs``, ``asp``, ``dmepos``).

Which codes: those :func:`rvucalc.codes.fee_schedule_of` gives to the CLFS, the ASP file or the
DMEPOS/PEN fee schedule **and** that the PFS does not price (not in the release's PPRRVU file,
or a status that is not payable: the surfaces' ``NOT_PFS_CLFS`` ... reasons). 88305, pathology in
the lab range with status A, stays on the PFS.

Which quarter: the PFS release's (``rvu26c`` is July 2026: Q3), else another quarter of the same
year with a note (:mod:`rvucalc.schedules._load`), never another year; where no file of the year
is at hand the surfaces keep saying ``NOT_PFS_CLFS`` ... with no amount, as before.

Amounts are for **one unit** (a quote is per service): CLFS national limit; ASP payment limit
per billing unit, rounded to the cent; DMEPOS fee of the state (from the ZIP code or locality)
and of the rural or non-rural area as given (``rural``); rural is never assumed
(``DMEPOS_RURAL_UNKNOWN`` where the two fees differ). The same amount in the office and facility
columns: these schedules do not vary by place of service.

Plain arguments only (never imports :mod:`rvucalc.facade`).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import pandas as pd

from .. import codes as C

#: Schedules priced here, by :func:`rvucalc.codes.fee_schedule_of` key.
KEYS = ("clfs", "asp", "dmepos")
#: ``NOT_PFS_CLFS`` -> ``clfs`` ...
KEY_OF_REASON = {C.REASONS[k].code: k for k in KEYS}
#: Column of the per-unit amount in each schedule's priced lines.
PER_UNIT = {"clfs": "rate", "asp": "payment_limit", "dmepos": "fee"}

_MISSING: dict[tuple[Any, ...], Any] = {}


def _module(key: str) -> Any:
    from . import asp, clfs, dmepos

    return {"clfs": clfs, "asp": asp, "dmepos": dmepos}[key]


def rates(key: str, year: int, quarter: int, mirror: str | os.PathLike[str] | None = None) -> Any:
    """The quarter's tables of schedule *key* (cached per process by :mod:`rvucalc.schedules`), or a
    falsy :class:`~rvucalc.schedules._load.Unavailable`; a year found missing is not looked for
    again in this process (:func:`clear_cache`)."""
    k = (key, year, quarter, None if mirror is None else os.fspath(mirror))
    if k in _MISSING:
        return _MISSING[k]
    got = _module(key).rates_or_unavailable(year, quarter, mirror=mirror, progress=False)
    if not got:
        _MISSING[k] = got
    return got


def clear_cache() -> None:
    """Forget the quarters found missing and the loaded tables."""
    from ._load import clear_cache as clear_tables

    _MISSING.clear()
    clear_tables()


def key_of_reason(reason: str) -> str:
    """``clfs`` for a reason cell with ``NOT_PFS_CLFS`` (the first such code), else ``""``."""
    return next((KEY_OF_REASON[c] for c in str(reason).split("|") if c in KEY_OF_REASON), "")


def release_quarter(release: Any) -> tuple[int, int]:
    """``(year, quarter)`` of a PFS release (its quarter, else its effective date's)."""
    if getattr(release, "quarter", None):
        return int(release.year), int(release.quarter)
    eff = str(getattr(release, "effective", "") or "")
    if len(eff) >= 7 and eff[5:7].isdigit():
        return int(release.year), (int(eff[5:7]) - 1) // 3 + 1
    order = getattr(release, "order", None)
    q = int(order[1]) if order and 1 <= int(order[1]) <= 4 else 1
    return int(release.year), q


def price_codes(keys: Any, hcpcs: Any, modifiers: Any, year: int, quarter: int, *, state: Any = None,
                rural: Any = None, zip: Any = None, mirror: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Price one unit of each row's code on schedule ``keys[i]`` (``""``: not priced here).

    Returns, per row in input order: ``priced`` (True where the schedule's file was at hand),
    ``amount`` (one unit, NaN with a reason), ``beneficiary``, ``rate`` (per unit as the file
    gives it), ``reason`` (the schedule's, ``""`` where payable), ``fee_schedule``, ``release``,
    ``release_note``, ``description`` (the file's) and ``sources`` (a list per row's schedule).
    """
    k = np.asarray(keys, dtype=object).reshape(-1)
    n = len(k)
    out = pd.DataFrame({"priced": np.zeros(n, dtype=bool), "amount": np.full(n, np.nan),
                        "beneficiary": np.full(n, np.nan), "rate": np.full(n, np.nan),
                        "reason": np.full(n, "", dtype=object), "fee_schedule": k.copy(),
                        "release": np.full(n, "", dtype=object), "release_note": np.full(n, "", dtype=object),
                        "description": np.full(n, "", dtype=object)})
    code = np.asarray(hcpcs, dtype=object).reshape(-1)
    mods = np.asarray(modifiers if modifiers is not None else [""] * n, dtype=object).reshape(-1)
    sources: list[Any] = []
    for key in KEYS:
        at = np.flatnonzero(k == key)
        if not at.size:
            continue
        r = rates(key, year, quarter, mirror)
        if not r:
            continue
        if key == "dmepos":
            res = r.price(code[at], mods[at], None, state=_pick(state, at), rural=_pick(rural, at),
                          zip=_pick(zip, at))
        else:
            res = r.price(code[at], mods[at], None)
        out.loc[at, "priced"] = True
        out.loc[at, "amount"] = res["allowed"].to_numpy(dtype=float)
        out.loc[at, "beneficiary"] = res["beneficiary"].to_numpy(dtype=float)
        out.loc[at, "rate"] = res[PER_UNIT[key]].to_numpy(dtype=float)
        out.loc[at, "reason"] = res["reason"].astype(object).fillna("").to_numpy(dtype=object)
        out.loc[at, "release"] = r.release.id
        out.loc[at, "release_note"] = r.note
        out.loc[at, "description"] = _descriptions(r.table, res)
        sources.extend(r.sources)
    out.attrs["sources"] = sources
    return out


def _pick(v: Any, at: np.ndarray) -> Any:
    return None if v is None else np.asarray(v, dtype=object).reshape(-1)[at]


def _descriptions(table: pd.DataFrame, res: pd.DataFrame) -> np.ndarray:
    if "description" not in table:
        return np.full(len(res), "", dtype=object)
    d = table.drop_duplicates("hcpcs").set_index("hcpcs")["description"].astype(str)
    return res["hcpcs"].map(d).fillna("").to_numpy(dtype=object)




def schedule_of_reasons(reasons: Any) -> np.ndarray:
    """``fee_schedule`` per row from its reason cell: the key of the first ``NOT_PFS_*`` code
    (``clfs``, ``asp``, ``dmepos``, ``ambulance`` ...), else ``pfs`` (one look per distinct cell)."""
    other = {r.code: k for k, r in C.REASONS.items()}
    inv, uniq = pd.factorize(pd.Series(np.asarray(reasons, dtype=object)).astype(str))
    keys = np.array([next((other[c] for c in u.split("|") if c in other), "pfs") for u in uniq] or ["pfs"],
                    dtype=object)
    return keys[inv] if len(inv) else np.zeros(0, dtype=object)


def fill_rows(out: pd.DataFrame, *, year: int, quarter: int, states: Any = None, rural: Any = None,
              zips: Any = None, mirror: str | os.PathLike[str] | None = None,
              amount_columns: tuple[str, ...] = ("amount",), blank_columns: tuple[str, ...] = (),
              release_column: str | None = "release", rate_column: str | None = None) -> pd.DataFrame:
    """*out* (rows with ``hcpcs``, ``modifier`` and ``reason``, as ``schedule`` and ``price_volumes``
    give them) with a ``fee_schedule`` column, and the rows of lab, drug and DME codes the PFS
    does not price (reason ``NOT_PFS_CLFS`` ...) priced per unit from their schedule: amount in
    *amount_columns*, *blank_columns* emptied (PFS-only figures), reason the schedule's, release
    (in *release_column*) the schedule's. Rows whose schedule's file is not at hand are left as
    they were. *states*, *rural*, *zips*: per row (DMEPOS), or None. *rate_column*: also a column
    of the unrounded rate per unit (NaN on other rows), for amounts of several units rounded once."""
    fee = schedule_of_reasons(out["reason"])
    rate = np.full(len(out), np.nan)
    sel = np.flatnonzero(np.isin(fee, KEYS))
    if sel.size:
        code = out["hcpcs"].astype(str).to_numpy(dtype=object)[sel]
        mod = out["modifier"].astype(str).to_numpy(dtype=object)[sel]

        def per_row(v: Any) -> np.ndarray | None:
            if v is None:
                return None
            a = np.asarray(v, dtype=object).reshape(-1)
            return (np.repeat(a, len(out)) if a.size == 1 else a)[sel]

        st, ru, zp = per_row(states), per_row(rural), per_row(zips)
        # one priced row per distinct (schedule, code, modifier, state, rural, zip)
        parts = [pd.Series(x, dtype=object).astype(str) for x in (fee[sel], code, mod)]
        parts += [pd.Series(x, dtype=object).fillna("").astype(str) for x in (st, ru, zp) if x is not None]
        combo = parts[0]
        for p in parts[1:]:
            combo = combo + "\x1f" + p
        inv, _ = pd.factorize(combo)
        head = pd.Series(np.arange(len(inv))).groupby(inv).min().to_numpy()  # first row of each
        res = price_codes(fee[sel][head], code[head], mod[head], year, quarter,
                          state=None if st is None else st[head], rural=None if ru is None else ru[head],
                          zip=None if zp is None else zp[head], mirror=mirror)
        done = res["priced"].to_numpy(dtype=bool)[inv]
        at = sel[done]
        if at.size:
            out = out.copy()
            amt = res["amount"].to_numpy(dtype=float)[inv][done]
            rate[at] = np.where(np.isnan(amt), np.nan, res["rate"].to_numpy(dtype=float)[inv][done])
            for c in amount_columns:
                col = out[c].to_numpy(dtype=float, copy=True)
                col[at] = amt
                out[c] = col
            for c in (c for c in blank_columns if c in out):
                col = out[c].to_numpy(copy=True)
                col[at] = np.nan if col.dtype.kind == "f" else (False if col.dtype.kind == "b" else "")
                out[c] = col
            why = out["reason"].astype(object).to_numpy(dtype=object, copy=True)
            why[at] = res["reason"].to_numpy(dtype=object)[inv][done]
            out["reason"] = pd.Categorical(why) if isinstance(out["reason"].dtype, pd.CategoricalDtype) else why
            if release_column is not None and release_column in out:
                rel = out[release_column].astype(object).to_numpy(dtype=object, copy=True)
                rel[at] = res["release"].to_numpy(dtype=object)[inv][done]
                out[release_column] = rel
            out.attrs["rvucalc.fee_sources"] = res.attrs.get("sources", [])
    if rate_column is not None:
        out[rate_column] = rate
    out["fee_schedule"] = pd.Categorical(fee) if len(fee) else pd.Categorical([], categories=["pfs"])
    return out


__all__ = ["KEYS", "KEY_OF_REASON", "clear_cache", "fill_rows", "key_of_reason", "price_codes", "rates",
           "release_quarter", "schedule_of_reasons"]
