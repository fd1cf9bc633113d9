"""Lab, drug and DME claim lines priced from their own fee schedule (CLFS, ASP, DMEPOS/PEN).

Every engine (memory, stream, Dask) runs this through :func:`rvucalc.claims.pipeline.price_chunk`:
the PFS system (:mod:`rvucalc.claims.pfs`) calls :func:`capture` after its lookup stage and
:func:`apply` after its money stage, so a chunk prices the same whatever engine made it.

Which lines: those the PFS lookup gave a "paid under another schedule" reason
(``NOT_PFS_CLFS``, ``NOT_PFS_ASP``, ``NOT_PFS_DMEPOS``; :func:`rvucalc.codes.fee_schedule_of`),
whose input was readable (no refusing input reason, no denying claim edit). Each is priced on
the quarter's file of its date of service (:mod:`rvucalc.schedules`: another quarter of the same
year with ``REPRICE_RELEASE_FALLBACK`` and a ``release_note`` when the quarter's file is not at
hand, never another year). Where no file of that year is at hand the line keeps the PFS's
answer: no amount and ``NOT_PFS_CLFS`` ... (so ``PFS_STATUS_X|NOT_PFS_CLFS`` for 80053 in a year
with no CLFS at hand), as before this wiring.

Rules (each in its :mod:`rvucalc.calc` module, with its CMS source):

* CLFS (:mod:`rvucalc.calc.clfs`, 42 CFR 414.507): national limit x units; no beneficiary share
  (SSA §1833(a)(1)(D), (b)(3));
* ASP (:mod:`rvucalc.calc.asp`, 42 CFR 414.904): payment limit per billing unit x units,
  rounded to the cent once; beneficiary share: the file's coinsurance percentage;
* DMEPOS/PEN (:mod:`rvucalc.calc.dmepos`, 42 CFR 414.210): the fee of the beneficiary's state
  (a ``state`` column, else the state of the line's ZIP code in the PFS release's ZIP file) and
  rural or non-rural area (a ``rural`` column, Y/N; else the ZIP code on CMS's DMEPOS rural ZIP
  file when at hand). Rural status is never assumed: without it the line gets no amount and
  ``DMEPOS_RURAL_UNKNOWN`` saying how to supply it; Medicare pays 80%.

Each is paid on the **lower of the actual charge and the schedule amount** (42 CFR 414.507(a)
for the CLFS, SSA §1842(o)(1) / 42 CFR 414.904 for drugs, SSA §1834(a)(1)(A) for DMEPOS), with
``CHARGE_LOWER`` where the charge is lower; the beneficiary share is then the schedule's rate
applied to the allowed amount, rounded to the cent once. Sequestration (2% of Medicare's
payment), when asked, as on PFS lines.

Columns of such a line: ``fee_schedule`` (``clfs``/``asp``/``dmepos``; ``pfs`` for the other
lines), ``release`` (the schedule's release, e.g. ``clfs-2026-01``) and ``release_note``,
``base_amount`` (the rate per unit of the file), ``units_factor``, ``fee_schedule_amount``
(rate x units), ``allowed``, ``medicare_payment``, ``sequestration``, ``charge_limited``,
``payable`` and ``reason`` (the schedule's reason codes; the PFS's lookup codes are dropped).
The PFS columns that do not apply (``limiting_charge``, the PFS factors) are left as the PFS
lookup left them (no amount).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .. import codes as C
from ..calc import dmepos as dme_rules
from ..calc import policy as P
from ..calc.edits import DENYING as EDIT_DENYING
from ..calc.money import round_cents
from ..schedules import surface
from . import normalise as N
from .lines import categorical

#: The schedules priced here, by the key of :func:`rvucalc.codes.fee_schedule_of`.
KEYS = ("clfs", "asp", "dmepos")
#: ``NOT_PFS_CLFS`` ... per key.
NOT_PFS = {k: C.REASONS[k].code for k in KEYS}
#: Every "paid under another schedule" reason, key per code.
OTHER_KEY = {r.code: k for k, r in C.REASONS.items()}
#: Reasons kept on a line priced on its own schedule (input notes, claim edits); every other
#: code the PFS stages gave it (status, lookup, locality, policy) is about the PFS and goes.
_KEEP_PREFIXES = ("EDIT_",)
_KEEP = frozenset({N.CLAIM_ID_MISSING.code})


@dataclass
class Captured:
    """What the fee-schedule stage reads of its lines, taken before the PFS lets go of it."""

    idx: np.ndarray  # positions of the candidate lines in the chunk
    key: np.ndarray  # "clfs" | "asp" | "dmepos" per candidate
    code: np.ndarray
    modifiers: np.ndarray  # text of every modifier of the line, blank-separated
    units: np.ndarray
    charge: np.ndarray
    year: np.ndarray
    quarter: np.ndarray
    zip: np.ndarray
    state: np.ndarray | None
    rural: np.ndarray | None
    release: np.ndarray  # PFS release index per candidate (-1 none), for the ZIP's state
    schedule_of_line: pd.Categorical | None = None  # fee_schedule per chunk line
    extra: dict[str, Any] = field(default_factory=dict)


def _bits_of(rb: Any, codes: list[str]) -> np.uint64:
    m = np.uint64(0)
    for c in codes:
        if c in rb.codes:
            m |= rb.bit(c)
    return m


def schedule_column(lines: N.Lines) -> pd.Categorical:
    """``fee_schedule`` per line: the key of the line's first ``NOT_PFS_*`` reason (``clfs``,
    ``asp``, ``dmepos``, ``ambulance`` ...), else ``pfs``. Read right after the PFS lookup."""
    rb = lines.reasons
    bits = rb.bits
    out = np.zeros(lines.n, dtype=np.int8)
    keys = ["pfs"]
    for code, key in OTHER_KEY.items():  # a handful of schedules
        if code not in rb.codes:
            continue
        hit = (bits & rb.bit(code)) != 0
        if hit.any():
            keys.append(key)
            out[hit & (out == 0)] = len(keys) - 1
    return categorical(out, keys)


def capture(lines: N.Lines, chunk: pd.DataFrame | None, rel_line: np.ndarray) -> Captured | None:
    """The candidate lines (see the module docstring) and what pricing them needs, or ``None``
    when the chunk has none. Call right after the PFS lookup (codes, ZIPs and dates are there)."""
    rb = lines.reasons
    sched = schedule_column(lines)
    mask = _bits_of(rb, list(NOT_PFS.values()))
    if not mask:
        return Captured(np.zeros(0, np.int64), *(np.zeros(0, object),) * 3, np.zeros(0), np.zeros(0),
                        np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, object), None, None,
                        np.zeros(0, np.int64), sched)
    # a line whose input could not be read, or whose place of service is no code CMS lists, is
    # refused on every schedule (its reason names the fault), as a denied line is
    refused = rb.any_of([*N.REFUSING, *EDIT_DENYING, "REPRICE_BAD_POS"]) | lines.bad_participating
    idx = np.flatnonzero(((rb.bits & mask) != 0) & ~refused)
    skeys = np.asarray(sched.categories, dtype=object)[np.asarray(sched.codes)[idx]]
    code = lines.hcpcs_uniq[lines.hcpcs_codes[idx]] if idx.size else np.zeros(0, dtype=object)
    mods = _modifier_text(lines, idx)
    zips = lines.zip_uniq[lines.zip_codes[idx]] if idx.size else np.zeros(0, dtype=object)
    state = rural = None
    if chunk is not None and "state" in chunk.columns:
        state = chunk["state"].to_numpy(dtype=object)[idx]
    if chunk is not None and "rural" in chunk.columns:
        rural = chunk["rural"].to_numpy(dtype=object)[idx]
    return Captured(idx, skeys, code, mods, lines.units[idx].copy(), lines.charge[idx].copy(),
                    lines.year[idx], lines.quarter[idx], zips, state, rural,
                    np.asarray(rel_line)[idx].astype(np.int64), sched)


def _modifier_text(lines: N.Lines, idx: np.ndarray) -> np.ndarray:
    """Every modifier of each line *idx* (the HCPCS cell's and the modifiers column's), as text."""
    if not idx.size or not lines.modifier_lists:
        return np.full(idx.size, "", dtype=object)
    (hc, hl), (mc, ml) = lines.modifier_lists  # each list ends with (), the list of code -1
    h = np.asarray(hc)[idx].astype(np.int64)
    m = np.asarray(mc)[idx].astype(np.int64)
    h = np.where(h < 0, len(hl) - 1, h)
    m = np.where(m < 0, len(ml) - 1, m)
    pair, uniq = pd.factorize(h * len(ml) + m)
    text = []
    for v in uniq:  # distinct (cell, column) pairs, not lines
        hi, mi = divmod(int(v), len(ml))
        text.append(" ".join((*hl[hi], *ml[mi])))
    return np.asarray(text, dtype=object)[pair]


def clear_cache() -> None:
    """Forget the priced combinations, the quarters found missing and the loaded tables
    (:func:`rvucalc.schedules.surface.clear_cache`)."""
    _ROWS.clear()
    surface.clear_cache()


def _states(zips: np.ndarray, fs: Any) -> np.ndarray:
    """The state of each ZIP code in the PFS release's ZIP5 file (``""`` where not found)."""
    try:
        z = fs.zip5
    except Exception:  # no ZIP file at hand: the state must come from a state column
        return np.full(len(zips), "", dtype=object)
    st = pd.Series(z["state"].to_numpy(dtype=object), index=z["zip"].to_numpy(dtype=object))
    st = st[~st.index.duplicated()]
    return pd.Series(zips, dtype=object).map(st).fillna("").to_numpy(dtype=object)


def apply(cap: Captured | None, cols: dict[str, Any], rb: Any, opts: Any, plan_ids: list[str],
          pfs_schedule: Any) -> None:
    """Price the captured lines on their schedules and write their amounts, reasons and release
    into *cols* (the PFS system's output arrays, changed in place); adds ``fee_schedule``.

    *pfs_schedule(release_id)* gives the loaded PFS schedule (for the ZIP code's state).
    """
    n = len(cols["allowed"])
    if cap is None or cap.schedule_of_line is None:
        cols["fee_schedule"] = categorical(np.zeros(n, dtype=np.int8), ["pfs"])
        return
    cols["fee_schedule"] = cap.schedule_of_line
    if not cap.idx.size:
        return
    sources: list[Any] = []
    results = []  # (positions in cap, frame, rates)
    yq = cap.year * 10 + cap.quarter
    groups, uniq = pd.factorize(pd.Series(cap.key, dtype=object) + ":" + pd.Series(yq).astype(str))
    for g, label in enumerate(uniq):  # a few (schedule, quarter) pairs
        key, yqs = str(label).split(":")
        y, q = divmod(int(yqs), 10)
        at = np.flatnonzero(groups == g)
        if y <= 0:
            continue
        rates = surface.rates(key, y, q, opts.mirror)  # falsy where no file of the year is at hand
        if not rates:  # no file of that year at hand: the PFS's NOT_PFS_* reason stays
            continue
        # one priced row per distinct (code, modifiers[, state, rural, ZIP]): a book repeats few;
        # the amount (rate x units, rounded once) is worked out per line in _write
        parts = [cap.code[at], cap.modifiers[at]]
        state = rural = None
        if key == "dmepos":
            state = _dme_states(cap, at, plan_ids, pfs_schedule)
            rural = None if cap.rural is None else cap.rural[at]
            parts += [state, cap.zip[at]] + ([] if rural is None else [rural])
        inv, head = _distinct(parts)
        res = _priced_rows(rates, key, [p[head] for p in parts], rates.note)
        results.append((at, res, inv, rates))
        sources.extend(rates.sources)
    if not results:
        return
    _write(cap, cols, rb, opts, results)
    if sources:
        cols["rvucalc.sources"] = [*cols.get("rvucalc.sources", []), *sources]


#: One priced row per (release, note, code, modifiers[, state, ZIP, rural]) as this process has
#: seen it: a chunk prices only the combinations no earlier chunk had (streams of many chunks).
_ROWS: dict[tuple[Any, ...], tuple[float, str, float]] = {}
_ROWS_MAX = 200_000


def _priced_rows(rates: Any, key: str, heads: list[np.ndarray], note: str) -> pd.DataFrame:
    """``rate`` (per unit), ``reason`` and ``share`` (the beneficiary's rate) of each distinct
    combination *heads* (code, modifiers, and for DME state, ZIP and rural), from the cache or
    priced on *rates* (the calc module's rules, one call for the new ones)."""
    tag = (key, rates.release.id, note)
    keys = [(*tag, *t) for t in zip(*[[("" if v is None else str(v)) for v in h] for h in heads], strict=True)]
    new = [i for i, k in enumerate(keys) if k not in _ROWS]
    if new:
        at = np.asarray(new, dtype=np.int64)
        code, mods = heads[0][at], heads[1][at]
        if key == "dmepos":
            rural = heads[4][at] if len(heads) > 4 else None
            res = rates.price(code, mods, None, state=heads[2][at], rural=rural, zip=heads[3][at])
        else:
            res = rates.price(code, mods, None)
        per_unit = {"clfs": "rate", "asp": "payment_limit", "dmepos": "fee"}[key]
        rate = res[per_unit].to_numpy(dtype=float)
        why = res["reason"].astype(object).fillna("").to_numpy(dtype=object)
        share = (res["coinsurance_pct"].to_numpy(dtype=float) / 100.0 if key == "asp"
                 else np.full(len(at), 0.0 if key == "clfs" else dme_rules.COINSURANCE))
        if len(_ROWS) > _ROWS_MAX:
            _ROWS.clear()
        for j, i in enumerate(new):  # the new combinations only (a handful per chunk)
            _ROWS[keys[i]] = (float(rate[j]), str(why[j]), float(share[j]))
    got = [_ROWS[k] for k in keys]
    return pd.DataFrame({"rate": [g[0] for g in got], "reason": [g[1] for g in got],
                         "share": [g[2] for g in got]})


def _distinct(parts: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """``(inverse, first row of each)`` of the distinct rows of several same-length arrays."""
    key = np.zeros(len(parts[0]), dtype=np.int64)
    for a in parts:
        c = pd.factorize(pd.Series(a, dtype=object).fillna(""))[0].astype(np.int64)
        key = pd.factorize(key * (int(c.max(initial=0)) + 2) + c + 1)[0].astype(np.int64)
    inv, _ = pd.factorize(key)
    head = pd.Series(np.arange(len(inv))).groupby(inv).min().to_numpy()
    return inv, head


def _dme_states(cap: Captured, at: np.ndarray, plan_ids: list[str], pfs_schedule: Any) -> np.ndarray:
    """State per DME line: the line's ``state`` column where given, else its ZIP code's state."""
    given = np.full(len(at), "", dtype=object)
    if cap.state is not None:
        given = pd.Series(cap.state[at], dtype=object).fillna("").astype(str).str.strip().str.upper().to_numpy(object)
    need = given == ""
    if need.any():
        rel = cap.release[at]
        if (rel < 0).any() and plan_ids:  # no PFS release for the date: any loaded ZIP file
            rel = np.where(rel < 0, 0, rel)
        for r in np.unique(rel[need]):  # a handful of PFS releases
            if r < 0:
                continue
            sel = need & (rel == r)
            try:
                fs = pfs_schedule(plan_ids[int(r)])
            except Exception:
                continue
            given[sel] = _states(cap.zip[at][sel], fs)
    return given


def _write(cap: Captured, cols: dict[str, Any], rb: Any, opts: Any, results: list[tuple]) -> None:
    m = len(cap.idx)
    amount = np.full(m, np.nan)  # schedule amount (rate x units), rounded
    rate = np.full(m, np.nan)
    share_rate = np.full(m, np.nan)
    why = np.full(m, "", dtype=object)
    rel = np.full(m, "", dtype=object)
    note = np.full(m, "", dtype=object)
    fallback = np.zeros(m, dtype=bool)
    done = np.zeros(m, dtype=bool)
    for at, res, inv, rates in results:
        done[at] = True
        rate[at] = res["rate"].to_numpy(dtype=float)[inv]
        share_rate[at] = res["share"].to_numpy(dtype=float)[inv]
        why[at] = res["reason"].to_numpy(dtype=object)[inv]
        # the calc modules' amount: rate x units, rounded to the cent once (half up)
        amount[at] = np.where(why[at] == "", round_cents(np.nan_to_num(rate[at]) * cap.units[at]), np.nan)
        rel[at] = rates.release.id
        note[at] = rates.note
        fallback[at] = _quarter(rates.release) != rates.quarter
    ok = done & (why == "") & ~np.isnan(amount)
    allowed, lower = P.lower_of_charge(np.where(ok, amount, np.nan), cap.charge)
    allowed = round_cents(allowed)
    share = round_cents(np.where(ok, allowed * np.nan_to_num(share_rate), np.nan))
    program = allowed - share
    if opts.sequestration:
        seq = round_cents(np.where(ok, program * P.SEQUESTRATION_RATE, np.nan))
        program = program - np.nan_to_num(seq)
    else:
        seq = np.where(ok, 0.0, np.nan)
    medicare = round_cents(program)
    at = cap.idx[done]

    def put(name: str, values: np.ndarray) -> None:
        col = np.array(cols[name], dtype=np.float64 if name not in ("charge_limited", "payable") else bool)
        col[at] = values[done]
        cols[name] = col

    put("base_amount", rate)
    put("units_factor", np.where(done, cap.units, np.nan))
    put("fee_schedule_amount", np.where(ok, amount, np.nan))
    put("allowed", np.where(ok, allowed, np.nan))
    put("medicare_payment", np.where(ok, medicare, np.nan))
    put("sequestration", seq)
    put("charge_limited", ok & lower)
    put("payable", ok)
    # reasons: the PFS's codes go, the schedule's come (in a fixed order: sorted codes)
    keep = np.uint64(0)
    for c in rb.codes:
        if c in _KEEP or c.startswith(_KEEP_PREFIXES):
            keep |= rb.bit(c)
    bits = rb.bits
    bits[at] &= keep
    rb.bits = bits
    codes = pd.Series(why[done], dtype=object)
    add = {c: codes.to_numpy() == c for c in sorted(set(codes)) if c}
    add[P.CHARGE_LOWER.code] = (ok & lower)[done]
    add[P.RELEASE_FALLBACK.code] = fallback[done]
    for c in sorted(add):
        rb.add(c, add[c], at)
    cols["reason"] = rb.categorical()
    cols["release"] = _replace_text(cols["release"], at, rel[done])
    cols["release_note"] = _replace_text(cols["release_note"], at, note[done])


def _quarter(release: Any) -> int:
    from ..schedules._load import _quarter as q

    return q(release)


def _replace_text(cat: pd.Categorical, at: np.ndarray, values: np.ndarray) -> pd.Categorical:
    """*cat* with the text *values* at positions *at*."""
    cats = [str(c) for c in cat.categories]
    codes = np.asarray(cat.codes).astype(np.int64)
    new, uniq = pd.factorize(pd.Series(values, dtype=object))
    extra = [u for u in uniq if u not in cats]
    where = {c: i for i, c in enumerate([*cats, *extra])}
    codes[at] = np.array([where[u] for u in uniq], dtype=np.int64)[new]
    return categorical(codes, [*cats, *extra])


__all__ = ["KEYS", "Captured", "apply", "capture", "clear_cache", "schedule_column"]
