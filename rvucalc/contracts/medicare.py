"""The Medicare amount of every line, the base a payer contract is written against.

Two ways in:

- **raw claim lines** (``claim_id, hcpcs, modifiers, units, pos, zip/locality,
  date_of_service, charge``, as :func:`rvucalc.reprice` reads them) are priced here by the claims
  pipeline (:mod:`rvucalc.claims.pipeline`) of the chosen system: ``"pfs"`` (the physician fee
  schedule, :func:`rvucalc.reprice`), ``"hopd"`` (OPPS, :func:`rvucalc.reprice_opps`) or
  ``"asc"``; the pipeline's parsed lines are kept (one parse, shared with the contract stage);
- **lines already priced**: a ``medicare_allowed`` (or ``allowed``, or OPPS/ASC
  ``facility_payment``) column, with a ``fee_schedule`` column saying which schedule priced each
  line (``pfs``, ``clfs``, ``asp``, ``dmepos``, ``opps``, ``asc``...; not needed for the output
  of ``rvucalc.reprice``/``reprice_opps``/``reprice_asc``), and optionally ``medicare_reason``
  (or ``reason``), ``setting`` and ``release``. This is how amounts from any fee schedule plug
  in: a lab line priced from the CLFS, a drug from the ASP file.

Each line gets: its Medicare allowed amount (whole cents; none where Medicare has none, with
Medicare's reason codes), its ``fee_schedule`` and ``setting`` (what contract terms match on:
``office``/``facility`` for PFS lines by place of service, ``hopd``, ``asc``) and the release.

On raw PFS lines the fee schedule is read from the PFS result: a line the PFS does not price
because another schedule pays the code (``NOT_PFS_CLFS`` for 80053, ``NOT_PFS_ASP`` for J9271)
belongs to that schedule, every other line to ``pfs`` (so 88305, pathology priced on the PFS, is
``pfs``). A line of a schedule rvucalc does not price yet has no Medicare amount and the reason
``CONTRACT_NO_MEDICARE_PRICER``, never a guess, unless a pricer for that schedule was registered
(:func:`register`).

**Medicare's allowed amount** is what the system's pricer calls allowed: for the PFS the lower of
the line's charge and the fee schedule amount after every payment rule (units, multiple
procedure, bilateral, assistant, non-participating...; 42 CFR 414.20), rounded to the cent; for
OPPS/ASC the facility payment (Medicare's and the beneficiary's shares together).

**A frozen base year** (``base: medicare 2025``) prices each line as if it had been served on
the same day of that year (29 February on the 28th): the pricing run gets the shifted dates, so
the release is chosen exactly as for a line of that year (the newest release of that quarter at
hand, else another of the same year with ``REPRICE_RELEASE_FALLBACK`` and a ``release_note``),
never another year's. Everything else about the line (codes, place, units, claim) is unchanged.
Amounts given with the lines are for their own dates, so a frozen year always reprices (the raw
columns must be there).
"""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from ..calc.contracts import BAD_AMOUNT, NO_PRICER, NOT_GIVEN
from ..calc.money import line_cents
from ..claims import normalise as N
from ..claims.contract import LINE
from ..claims.lines import categorical

#: Columns the pricing systems read (the rest of the user's columns are not passed to them).
PRICING_COLUMNS = ("claim_id", "hcpcs", "modifiers", "units", "pos", "zip", "locality", "date_of_service",
                   "charge", "participating", "wage_index", "ccn", "cbsa", "county_fips", "state", "rural")
#: Columns holding a Medicare amount given with the lines, in order of preference.
AMOUNT_COLUMNS = ("medicare_allowed", "allowed", "facility_payment")
#: Fee schedules the PFS claims pipeline prices itself (:mod:`rvucalc.claims.fees`): a line of
#: these with the pipeline's ``fee_schedule`` and no ``NOT_PFS_*`` reason has its amount (or the
#: schedule's reason) already.
PIPELINE_SCHEDULES = frozenset({"clfs", "asp", "dmepos"})
#: The fee schedule each system prices.
SYSTEM_SCHEDULE = {"pfs": "pfs", "hopd": "opps", "asc": "asc"}
#: Line setting per system (PFS: from the place of service).
SYSTEM_SETTING = {"hopd": "hopd", "asc": "asc"}

#: Medicare reason codes that mean the data is missing or the line was refused as billed, not
#: that Medicare has no rate for the service: a contract's fallback ("no Medicare rate: 45% of
#: charge") does not price these lines; they get no amount, with the reason.
NOT_A_RATE_GAP = frozenset({
    # input the line could not be read from
    *N.REFUSING, N.BAD_PARTICIPATING.code, "REPRICE_BAD_POS",
    # files or places missing
    "REPRICE_NO_LOCALITY", "REPRICE_NO_RELEASE", "FACILITY_NO_RELEASE", "FACILITY_BAD_WAGE_INDEX",
    "OPPS_CCN_NOT_IN_TABLE2", "OPPS_CCN_NO_TABLE2", "FACILITY_WAGE_INDEX_NOT_FOUND",
    "FACILITY_NO_WAGE_TABLE", "FACILITY_LINE_NOT_PRICED", "OPPS_NO_WAGE_INDEX", "ASC_NO_WAGE_INDEX",
    "WI_MISSING", "WI_AMBIGUOUS", "WI_UNKNOWN_CBSA", "WI_UNKNOWN_COUNTY", "WI_NO_RURAL_AREA",
    NO_PRICER.code, BAD_AMOUNT.code,
    # refused as billed (a payer denies these too)
    "ASST_NOT_ALLOWED", "BILAT_NOT_APPLICABLE", "COSURG_NOT_ALLOWED", "MOD_PCTC_BOTH", "MOD_PCTC_NOT_ALLOWED",
    "TEAM_NOT_ALLOWED",
})

#: Input refusals: a line that cannot be read is priced by no contract (its reason says why).
INPUT_REFUSING = (*sorted(N.REFUSING), N.BAD_PARTICIPATING.code)

#: Fee schedule keys of codes Medicare pays under no schedule (:func:`rvucalc.codes.fee_schedule_of`):
#: such a line has no Medicare rate, and a contract's fallback may price it.
NO_MEDICARE_SCHEDULE = frozenset({"not_medicare", "measure", "dental"})

#: ``fee_schedule -> pricer`` for schedules other than the system's; see :func:`register`.
PRICERS: dict[str, Callable[..., pd.DataFrame]] = {}


def register(fee_schedule: str, pricer: Callable[..., pd.DataFrame]) -> None:
    """Price the lines of *fee_schedule* (``"clfs"``, ``"asp"``...) with *pricer*.

    ``pricer(lines, *, base_year, releases, mirror, dayfirst)`` gets those lines (the user's
    pricing columns, dates already moved to *base_year* when frozen) and returns a frame with the
    same index and ``allowed`` (dollars, NaN for none), ``reason`` (codes) and ``release``.
    """
    PRICERS[str(fee_schedule).lower()] = pricer


@dataclass
class Medicare:
    """Medicare's amount per line under one base (the date of service's, or a frozen year)."""

    base_year: int | None
    cents: np.ndarray  # int64, 0 where none
    has: np.ndarray  # bool: the line has a Medicare amount
    reason: pd.Categorical  # Medicare's reason codes per line ("" none)
    no_rate: np.ndarray  # bool: no amount because Medicare has no rate (a fallback may price it)
    fee_schedule: pd.Categorical
    setting: pd.Categorical
    release: pd.Categorical
    sources: list[Any] = field(default_factory=list)

    @property
    def allowed(self) -> np.ndarray:
        """Dollars per line (NaN where none)."""
        return np.where(self.has, self.cents / 100.0, np.nan)


@dataclass
class Facts:
    """What the contract stage reads of each line (parsed once, :mod:`rvucalc.claims.normalise`)."""

    lines: N.Lines
    day: np.ndarray  # int64 days since 1970-01-01 of the date of service as given (-1: none)
    refused: np.ndarray  # bool: the line's input could not be read (bad code, units, date, charge)
    refused_reason: pd.Categorical  # those input reason codes ("" for the others)

    @property
    def n(self) -> int:
        return self.lines.n


def given_amounts(lines: pd.DataFrame) -> str | None:
    """The column of Medicare amounts the lines were given with, if any (:data:`AMOUNT_COLUMNS`)."""
    return next((c for c in AMOUNT_COLUMNS if c in lines.columns), None)


def price(lines: pd.DataFrame, *, system: str = "pfs", base_years: tuple[int | None, ...] = (None,),
          releases: Any = None, mirror: str | os.PathLike[str] | None = None, dayfirst: bool = False,
          wage_index: float | None = None, on_parsed: Callable[[Any], None] | None = None
          ) -> tuple[Facts, dict[int | None, Medicare]]:
    """The lines' facts and their Medicare amounts under each base in *base_years* (always with
    the date of service's, ``None``, which every percent of Medicare is reported against).
    *on_parsed*: called with the lines as parsed for the date of service's pricing, before they
    are priced (:func:`rvucalc.claims.pipeline.price_chunk`)."""
    from ..claims import pipeline

    if system not in SYSTEM_SCHEDULE:
        raise ValueError(f"unknown setting {system!r}: pfs (physician fee schedule), hopd (hospital "
                         "outpatient, OPPS) or asc (ambulatory surgical center)")
    years = tuple(dict.fromkeys((None, *base_years)))
    out: dict[int | None, Medicare] = {}
    given = given_amounts(lines)
    extra = {"wage_index": float(wage_index)} if wage_index is not None and system != "pfs" else {}
    opts = pipeline.options(system, releases=releases, mirror=mirror, dayfirst=dayfirst, **extra)
    facts: Facts | None = None
    if given is not None:
        for c in ("claim_id", "hcpcs", "date_of_service"):
            if c not in lines.columns:
                raise ValueError(f"claim lines need the column {c}; have "
                                 f"{', '.join(str(x) for x in lines.columns if x != LINE)}")
        parsed = N.normalise(_with_line(lines), dayfirst=dayfirst)
        facts = _facts(parsed)
        out[None] = _from_given(lines, given, parsed, system)
    for year in years:
        if year in out:
            continue
        sub = _pricing_frame(lines)
        if year is not None:
            sub["date_of_service"] = _moved_dates(lines["date_of_service"], year, dayfirst)
            o = pipeline.options(system, releases=releases, mirror=mirror, dayfirst=False, **extra)
        else:
            o = opts
        keep: list[Any] = []
        priced = pipeline.price_chunk(sub, o, keep=keep, on_parsed=on_parsed if year is None else None)
        parsed = keep[0]
        if facts is None:
            facts = _facts(parsed)
            if year is not None:  # the facts are of the line as given: its own date
                facts.day = _days(lines["date_of_service"], dayfirst)
        out[year] = _from_priced(lines, priced, parsed, system, year, opts=o)
        del priced
    assert facts is not None
    return facts, out


def _with_line(lines: pd.DataFrame) -> pd.DataFrame:
    return lines if LINE in lines.columns else lines.assign(**{LINE: np.arange(len(lines), dtype=np.int64)})


def _pricing_frame(lines: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in PRICING_COLUMNS if c in lines.columns]
    sub = pd.DataFrame({c: lines[c] for c in cols}, index=lines.index, copy=False)
    sub[LINE] = lines[LINE].to_numpy() if LINE in lines.columns else np.arange(len(lines), dtype=np.int64)
    return sub


def _days(values: pd.Series, dayfirst: bool) -> np.ndarray:
    codes, day, _y, _q = N.parse_dates_coded(values, dayfirst=dayfirst)
    return day[codes]


def _moved_dates(values: pd.Series, year: int, dayfirst: bool) -> pd.Categorical:
    """The dates of service moved to *year* (same month and day; 29 February -> 28), as ISO text;
    a cell that is not a date stays empty (refused as before)."""
    codes, day, _y, _q = N.parse_dates_coded(values, dayfirst=dayfirst)
    text = []
    for d in day.tolist():  # distinct date cells
        if d < 0:
            text.append("")
            continue
        t = dt.date(1970, 1, 1) + dt.timedelta(days=int(d))
        if t.month == 2 and t.day == 29:
            t = t.replace(day=28)
        text.append(t.replace(year=year).isoformat())
    return categorical(codes, text[:-1] + [""]) if len(text) else categorical(codes, [])


def _facts(parsed: N.Lines) -> Facts:
    rb = parsed.reasons
    refused = rb.any_of(INPUT_REFUSING)
    bits = rb.bits & _mask(rb, INPUT_REFUSING)
    # the input reasons only, as text per distinct set
    codes, uniq = pd.factorize(bits)
    text = ["|".join(rb.ordered(int(u))) for u in uniq]
    return Facts(lines=parsed, day=parsed.day.copy(), refused=refused,
                 refused_reason=categorical(codes, text))


def _mask(rb: Any, codes: tuple[str, ...]) -> np.uint64:
    m = np.uint64(0)
    for c in codes:
        if c in rb.codes:
            m |= rb.bit(c)
    return m


def _reason_table(reasons: pd.Categorical) -> tuple[np.ndarray, list[str]]:
    cats = [str(c) for c in reasons.categories]
    return np.asarray(reasons.codes), cats


def _no_rate(has: np.ndarray, reasons: pd.Categorical) -> np.ndarray:
    codes, cats = _reason_table(reasons)
    gap = np.array([not (set(c.split("|")) & NOT_A_RATE_GAP) for c in cats] + [True], dtype=bool)
    return ~has & gap[codes]


def _schedule_from_reasons(reasons: pd.Categorical, system_schedule: str) -> pd.Categorical:
    """``clfs`` for a line with ``NOT_PFS_CLFS``... (the first such code), else the system's."""
    codes, cats = _reason_table(reasons)
    keys = []
    for c in cats:  # distinct reason texts
        hit = next((x[len("NOT_PFS_"):].lower() for x in c.split("|") if x.startswith("NOT_PFS_")), None)
        keys.append(hit or system_schedule)
    return categorical(codes, keys + [system_schedule])


def _text_categorical(values: pd.Series, fn: Callable[[str], str]) -> pd.Categorical:
    codes, uniq = pd.factorize(values, use_na_sentinel=True)
    text = [fn("" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v)) for v in uniq]
    return categorical(codes, text)


def _user_schedules(values: pd.Series) -> pd.Categorical:
    from .model import FEE_SCHEDULES

    cat = _text_categorical(values, lambda s: s.strip().lower())
    bad = [c for c in cat.categories if c and c not in FEE_SCHEDULES]
    if bad:
        first = int(np.flatnonzero(np.asarray(cat) == bad[0])[0])
        raise ValueError(f"column fee_schedule, row {first + 1}: {bad[0]!r} is not a fee schedule rvucalc "
                         f"knows ({', '.join(FEE_SCHEDULES)})")
    return cat


_SETTING_OF = {"nonfacility": "office", "office": "office", "non-facility": "office", "facility": "facility",
               "hopd": "hopd", "opps": "hopd", "asc": "asc"}


def _settings(values: pd.Series) -> pd.Categorical:
    return _text_categorical(values, lambda s: _SETTING_OF.get(s.strip().lower(), ""))


def _pos_settings(parsed: N.Lines) -> pd.Categorical:
    from ..calc import policy as P

    s = P.setting_from_pos(parsed.pos, parsed.year)
    return categorical(s.astype(np.int64), ["office", "facility", ""])


def _from_priced(lines: pd.DataFrame, priced: pd.DataFrame, parsed: N.Lines, system: str, year: int | None,
                 opts: Any) -> Medicare:
    from ..claims import pipeline

    amount_col = "allowed" if system == "pfs" else "facility_payment"
    cents, has = line_cents(priced[amount_col].to_numpy(dtype=float, na_value=np.nan))
    reasons = _categorical(priced["reason"])
    sched_name = SYSTEM_SCHEDULE[system]
    if "fee_schedule" in lines.columns:
        schedule = _user_schedules(lines["fee_schedule"])
    elif "fee_schedule" in priced.columns:  # the pipeline says which schedule priced each line
        schedule = _categorical(priced["fee_schedule"])
    else:
        schedule = _schedule_from_reasons(reasons, sched_name)
    setting = _settings(priced["setting"]) if system == "pfs" else \
        categorical(np.zeros(len(priced), dtype=np.int64), [SYSTEM_SETTING[system]])
    release = _categorical(priced["release"])
    sources = [*pipeline.provenance(pd.unique(np.asarray(release.categories, dtype=object))),
               priced.attrs.get("rvucalc.provenance")]
    m = Medicare(year, cents, has, reasons, np.zeros(len(cents), dtype=bool), schedule, setting, release,
                 [s for s in sources if s])
    handled = _pipeline_priced(schedule, reasons) if "fee_schedule" in priced.columns else None
    _other_schedules(m, lines, sched_name, year, opts, handled)
    m.no_rate = _no_rate(m.has, m.reason)
    return m


def _pipeline_priced(schedule: pd.Categorical, reasons: pd.Categorical) -> np.ndarray:
    """Lines of a schedule the pipeline priced itself (:data:`PIPELINE_SCHEDULES`): no
    ``NOT_PFS_*`` reason left (that reason stays where the quarter's file was not at hand)."""
    sc, scats = _reason_table(schedule)
    wired = np.array([c in PIPELINE_SCHEDULES for c in scats] + [False], dtype=bool)[sc]
    rc, rcats = _reason_table(reasons)
    other = np.array([any(x.startswith("NOT_PFS_") for x in c.split("|")) for c in rcats] + [False],
                     dtype=bool)[rc]
    return wired & ~other


def _other_schedules(m: Medicare, lines: pd.DataFrame, system_schedule: str, year: int | None, opts: Any,
                     handled: np.ndarray | None = None) -> None:
    """Lines of another fee schedule than the system's: priced by a registered pricer, else no
    amount with :data:`NO_PRICER` (the system's own result for them is not used). Lines the
    pipeline priced on their own schedule (*handled*: lab, drug, DME lines) keep its answer."""
    sched = np.asarray(m.fee_schedule.categories, dtype=object)
    codes = np.asarray(m.fee_schedule.codes)
    others = [s for s in sched if s and s != system_schedule and s not in NO_MEDICARE_SCHEDULE]
    if not others:
        return
    reason_codes, reason_cats = _reason_table(m.reason)
    new_reason = np.array(reason_cats + [""], dtype=object)[reason_codes]
    changed = False
    for s in others:  # a few fee schedules
        sel = codes == list(sched).index(s)
        if handled is not None:
            sel &= ~handled
        if not sel.any():
            continue
        pricer = PRICERS.get(str(s))
        if pricer is None:
            m.cents[sel] = 0
            m.has[sel] = False
            new_reason[sel] = _append(new_reason[sel], NO_PRICER.code)
            changed = True
            continue
        sub = _pricing_frame(lines)[sel]
        if year is not None:
            sub["date_of_service"] = _moved_dates(lines["date_of_service"][sel], year, opts.dayfirst)
        res = pricer(sub, base_year=year, releases=opts.releases, mirror=opts.mirror, dayfirst=opts.dayfirst)
        c, h = line_cents(pd.to_numeric(res["allowed"], errors="coerce").to_numpy(dtype=float))
        m.cents[sel], m.has[sel] = c, h
        new_reason[sel] = res["reason"].astype(object).fillna("").astype(str).to_numpy()
        changed = True
    if changed:
        m.reason = pd.Categorical(new_reason)


def _append(reasons: np.ndarray, code: str) -> np.ndarray:
    s = pd.Series(reasons, dtype=object)
    return np.where(s == "", code, s + "|" + code).astype(object)


def _categorical(values: pd.Series) -> pd.Categorical:
    if isinstance(values.dtype, pd.CategoricalDtype):
        cat = values.array
        if cat.isna().any() if hasattr(cat, "isna") else False:
            return pd.Categorical(values.astype(object).fillna("").astype(str))
        return cat  # type: ignore[return-value]
    return _text_categorical(values, lambda s: s)


def _from_given(lines: pd.DataFrame, col: str, parsed: N.Lines, system: str) -> Medicare:
    values = lines[col]
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        dollars = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
        bad = np.zeros(len(values), dtype=bool)
    else:
        dollars, bad = N.parse_charge(values)
    cents, has = line_cents(dollars)
    rcol = next((c for c in ("medicare_reason", "reason") if c in lines.columns), None)
    if rcol is not None:
        reason_text = _categorical(lines[rcol])
        rcodes, rcats = _reason_table(reason_text)
        text = np.array(rcats + [""], dtype=object)[rcodes]
    else:
        text = np.full(len(values), "", dtype=object)
    blank = ~has & ~bad & (text == "")
    text = np.where(blank, NOT_GIVEN.code, text)
    text = np.where(bad, BAD_AMOUNT.code, text)
    reasons = pd.Categorical(text.astype(object))
    if "fee_schedule" in lines.columns:
        schedule = _user_schedules(lines["fee_schedule"])
        if "fee_schedule_amount" in lines.columns:  # rvucalc.reprice output (lab, drug, DME lines priced)
            unpriced = ~has & ~_pipeline_priced(schedule, reasons) & (
                _schedule_from_reasons(reasons, "pfs").astype(str) != "pfs") & ~np.isin(
                np.asarray(schedule.astype(str), dtype=object), list(NO_MEDICARE_SCHEDULE))
            if unpriced.any():  # its schedule's file was not at hand when it was repriced
                text = np.where(unpriced, _append(text, NO_PRICER.code), text)
                reasons = pd.Categorical(text.astype(object))
    elif "fee_schedule_amount" in lines.columns:  # rvucalc.reprice output before the fee_schedule column
        schedule = _schedule_from_reasons(reasons, "pfs")
        sch = np.array([str(c) for c in schedule.categories] + [""], dtype=object)[np.asarray(schedule.codes)]
        unpriced = ~has & (sch != "pfs") & ~np.isin(sch, list(NO_MEDICARE_SCHEDULE))
        if unpriced.any():  # a code of another schedule, which the PFS pricing did not price
            text = np.where(unpriced, _append(text, NO_PRICER.code), text)
            reasons = pd.Categorical(text.astype(object))
    elif "status_indicator" in lines.columns:  # rvucalc.reprice_opps output
        schedule = categorical(np.zeros(len(lines), dtype=np.int64), ["opps"])
    elif "payment_indicator" in lines.columns:  # rvucalc.reprice_asc output
        schedule = categorical(np.zeros(len(lines), dtype=np.int64), ["asc"])
    else:
        raise ValueError(f"the lines have Medicare amounts ({col}) but no fee_schedule column saying which "
                         "schedule priced each line (pfs, clfs, asp, dmepos, opps, asc...): add it")
    if "setting" in lines.columns:
        setting = _settings(lines["setting"])
    elif "status_indicator" in lines.columns:
        setting = categorical(np.zeros(len(lines), dtype=np.int64), ["hopd"])
    elif "payment_indicator" in lines.columns:
        setting = categorical(np.zeros(len(lines), dtype=np.int64), ["asc"])
    else:
        setting = _pos_settings(parsed)
    release = _categorical(lines["release"]) if "release" in lines.columns else \
        categorical(np.full(len(lines), -1, dtype=np.int64), [])
    m = Medicare(None, cents, has, reasons, np.zeros(len(cents), dtype=bool), schedule, setting, release,
                 [lines.attrs["rvucalc.provenance"]] if lines.attrs.get("rvucalc.provenance") else [])
    m.no_rate = _no_rate(m.has, m.reason)
    return m


__all__ = ["AMOUNT_COLUMNS", "INPUT_REFUSING", "NOT_A_RATE_GAP", "NO_MEDICARE_SCHEDULE", "PRICERS", "PRICING_COLUMNS", "Facts",
           "Medicare", "given_amounts", "price", "register"]
