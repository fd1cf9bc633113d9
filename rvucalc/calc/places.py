"""Where a place lies: a county in a PFS payment locality, a ZIP code's locality in one CBSA.

Pure functions over CMS tables (no file is read here):

* :func:`place_county` - the PFS payment locality of a county (name and state from CMS's county
  crosswalk), from the locality/county list (LOCCO): the locality whose list names the county,
  else the state's only locality, else the state's "all other counties" locality. Never a guess:
  a county named by several localities, or by none in a state without such a locality, is not
  placed. (The facade's :meth:`rvucalc.FeeSchedule.county_locality` is this rule.)
* :func:`zip_table` / :func:`place_zips` - the facility's CBSA from a ZIP code, for OPPS and ASC
  wage adjustment (42 CFR 419.43(c), 416.172(c)) when a claim gives no CBSA, county or wage
  index: ZIP -> PFS payment locality (CMS ZIP5 file) -> the locality's counties (LOCCO, every
  county of CMS's county crosswalk placed once by :func:`place_county`) -> their CBSA (county
  crosswalk). A ZIP is placed only when every county of its locality lies in ONE CBSA (e.g.
  92101 -> SAN DIEGO-CHULA VISTA-CARLSBAD -> county 06073 -> CBSA 41740); a locality whose
  counties span several CBSAs (90012's Los Angeles locality lists Los Angeles and Orange
  counties, CBSAs 31084 and 11244; every "rest of state" locality), whose ZIPs lie in several
  states (DC + MD/VA suburbs) or whose LOCCO list names a county no crosswalk row matches places
  nothing: rvucalc does not pick one for the caller.

CMS publishes no ZIP -> county file with the fee schedules; the ZIP5 file's locality is the one
CMS's contractors pay the physician by (Medicare Claims Processing Manual ch. 12 s. 20.4), and
a facility is in the same locality as the ZIP of its address.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

#: Outcomes of :func:`place_zips` (column ``status``).
PLACED = "placed"
NOT_IN_ZIP5 = "not_in_zip5"  # the ZIP is not in the ZIP5 file (or its locality not in the GPCI file)
MANY_CBSAS = "many_cbsas"  # the locality's counties lie in several CBSAs
UNSURE = "unsure"  # a county that may be in the locality could not be placed: its CBSA is unknown
#: the locality's ZIPs lie in several states, or its LOCCO list names a county of no crosswalk
#: row of its state (DC + MD/VA suburbs): some of its counties are not known
PARTLY_KNOWN = "partly_known"
NO_COUNTY = "no_county"  # no county of the crosswalk was placed in the locality


#: State codes of the ZIP5 file that are not USPS codes: CMS splits Kansas and Missouri into
#: east and west (the carriers' old areas).
ZIP5_STATES = {"EK": "KS", "WK": "KS", "EM": "MO", "WM": "MO"}


#: Counties renamed since CMS's LOCCO list was written, by their crosswalk key: the name the list
#: still uses (Dade County, FL became Miami-Dade in 1997; LOCCO's MIAMI locality lists "DADE").
FORMER_NAMES = {("FL", "MIAMI DADE"): "DADE"}


def county_key(name: str) -> str:
    """County name for matching: upper case, without 'COUNTY'/'CNTY'/'PARISH' and punctuation."""
    s = re.sub(r"\b(COUNTY|COUNTIES|CNTY|PARISH|BOROUGH)\b", " ", str(name).upper())
    return re.sub(r"[^A-Z0-9]+", " ", s).strip()


@dataclass(frozen=True)
class CountyPlace:
    """The locality of one county, or why there is none.

    ``problem``: ``""`` (placed), ``"no_locality"`` (no locality of the state),
    ``"several"`` (named by several localities: ``candidates``) or ``"unplaced"`` (named by
    none, and the state has no single "all other counties" locality).
    """

    locality_id: str | None
    how: str
    problem: str = ""
    candidates: tuple[str, ...] = ()
    token: str = ""  # the name in the locality's LOCCO list that matched ("" when none was read)


def _tokens(localities: pd.DataFrame) -> dict[str, list[tuple[str, list[str]]]]:
    """Per state: (locality id, county keys of its LOCCO list), in the table's order."""
    out: dict[str, list[tuple[str, list[str]]]] = {}
    for lid, st, text in zip(localities["locality_id"], localities["state"].astype(str),
                             localities["counties"].astype(str), strict=True):  # ~110 localities
        toks = [county_key(t) for t in re.split(r"/|,|;|\bAND\b", text.upper()) if t.strip()]
        out.setdefault(st.strip().upper(), []).append((str(lid), toks))
    return out


def _rest(localities: pd.DataFrame) -> dict[str, list[str]]:
    """Per state: the localities whose list says 'all other counties' / 'rest of'."""
    m = localities["counties"].astype(str).str.upper().str.contains("ALL OTHER|REST OF", regex=True)
    out: dict[str, list[str]] = {}
    for lid, st in zip(localities.loc[m, "locality_id"], localities.loc[m, "state"].astype(str), strict=True):
        out.setdefault(st.strip().upper(), []).append(str(lid))
    return out


def _similar(t: str, key: str) -> bool:
    if t == key:
        return True
    if len(key) <= 3:
        return False
    sm = difflib.SequenceMatcher(None, t, key)
    # quick upper bounds first (same answer as ratio() >= 0.85, faster for the 3,200 counties)
    return sm.real_quick_ratio() >= 0.85 and sm.quick_ratio() >= 0.85 and sm.ratio() >= 0.85


def place_county(name: str, state: str, localities: pd.DataFrame, *,
                 _index: tuple[dict, dict] | None = None) -> CountyPlace:
    """The PFS payment locality of the county *name* in *state* (USPS), from *localities*
    (columns ``locality_id``, ``state``, ``counties``: the GPCI file with LOCCO's county lists).

    The locality whose LOCCO list names the county (spelling slips in CMS's list, e.g.
    ``ORAGNGE``, are matched at 85% similarity), else the state's only locality, else the
    state's ``ALL OTHER COUNTIES`` locality when no locality of the state names a county like
    it. ``how`` says which (``"-> listed under 01182-18 in LOCCO"``).
    """
    toks, rest = _index if _index is not None else (_tokens(localities), _rest(localities))
    st = str(state).strip().upper()
    locs = toks.get(st, [])
    if not locs:
        return CountyPlace(None, "", "no_locality")
    if len(locs) == 1:
        return CountyPlace(locs[0][0], "-> the state's only locality")
    key = county_key(name)
    old = FORMER_NAMES.get((st, key), "")
    matched: list[tuple[str, str]] = []
    for lid, ts in locs:
        for t in ts:
            if _similar(t, key) or t == old:
                matched.append((lid, t))
                break
    if len({m[0] for m in matched}) == 1:
        lid, tok = matched[0]
        how = "" if tok == key else f" (CMS's list calls it {tok!r})" if tok == old else \
            f" (CMS's list spells it {tok!r})"
        return CountyPlace(lid, f"-> listed under {lid} in LOCCO{how}", token=tok)
    if matched:
        return CountyPlace(None, "", "several", tuple(m[0] for m in matched))
    r = rest.get(st, [])
    if len(r) == 1:
        return CountyPlace(r[0], "-> not listed by name, so the state's 'all other counties' locality")
    return CountyPlace(None, "", "unplaced", tuple(x[0] for x in locs))


@dataclass(frozen=True)
class ZipTable:
    """ZIP -> locality and locality -> CBSAs, built once per year (:func:`zip_table`)."""

    #: ZIP (5 digits) -> locality id as the GPCI file names it ("" when it names none)
    zip_locality: pd.Series
    #: one row per locality id: ``name``, ``status`` (an outcome of :func:`place_zips`), ``cbsa``
    #: (the one CBSA, else ""), ``n_cbsas``, ``text`` (the chain, or why there is none)
    localities: pd.DataFrame


def _canonical(ids: np.ndarray, localities: pd.DataFrame) -> np.ndarray:
    """ZIP5 locality ids as the GPCI file names them: a MAC + locality that CMS lists under a
    second MAC of the same state (California's 01112/01182) becomes the GPCI row with the same
    state and locality number; ``""`` when there is none (as :meth:`FeeSchedule.resolve_locality`)."""
    known = set(localities["locality_id"].astype(str))
    mac_state = dict(zip(localities["mac"].astype(str), localities["state"].astype(str), strict=True))
    by = localities.groupby([localities["state"].astype(str), localities["locality"].astype(str)])["locality_id"]
    one = {k: str(v.iloc[0]) for k, v in by if len(v) == 1}
    out = []
    for lid in ids:  # distinct locality ids of the ZIP5 file (~120)
        s = str(lid)
        if s in known:
            out.append(s)
            continue
        mac, _, num = s.partition("-")
        out.append(one.get((mac_state.get(mac, ""), num), ""))
    return np.array(out, dtype=object)


def zip_table(zip5: pd.DataFrame, localities: pd.DataFrame, counties: pd.DataFrame) -> ZipTable:
    """The ZIP -> CBSA table of one year.

    *zip5*: CMS ZIP5 file (``zip``, ``locality_id``); *localities*: GPCI rows with LOCCO's
    county lists (``locality_id``, ``mac``, ``locality``, ``state``, ``locality_name``,
    ``counties``); *counties*: CMS's county crosswalk (``fips``, ``county_name``, ``state``,
    ``cbsa``). Every county of the crosswalk is placed in a locality once (about 3,200 counties,
    :func:`place_county`); a locality is placed in a CBSA when all its counties lie in one, and
    no county of its state that could lie in it went unplaced.
    """
    z = zip5.drop_duplicates("zip")
    lid_codes, lid_uniq = pd.factorize(z["locality_id"].astype(str))
    canon = _canonical(np.asarray(lid_uniq, dtype=object), localities)
    zip_loc = pd.Series(canon[lid_codes], index=z["zip"].astype(str).to_numpy())
    ct = counties.drop_duplicates("fips")
    index = (_tokens(localities), _rest(localities))
    placed: dict[str, list[tuple[str, str, str]]] = {}  # locality -> (fips, county name, cbsa)
    unsure: dict[str, list[str]] = {}  # locality -> counties that may lie in it
    matched: dict[str, set[str]] = {}  # locality -> names of its LOCCO list some county matched
    for fips, name, st, cbsa in zip(ct["fips"].astype(str), ct["county_name"].astype(str),
                                    ct["state"].astype(str), ct["cbsa"].astype(str), strict=True):
        # once per county when the table is built (~3,200), never per claim line
        p = place_county(name, st, localities, _index=index)
        if p.locality_id is not None:
            placed.setdefault(p.locality_id, []).append((fips, name, cbsa))
            matched.setdefault(p.locality_id, set()).add(p.token)
        elif p.problem in ("several", "unplaced"):
            for c in p.candidates:
                unsure.setdefault(c, []).append(f"{fips} {name.title()}")
    # the states of each locality's ZIPs (ZIP5): a locality across a state line (DC + MD/VA
    # suburbs) has counties that the county's own state's localities claim
    zs = pd.DataFrame({"lid": zip_loc.to_numpy(), "state": z["state"].astype(str).str.strip().str.upper().replace(ZIP5_STATES).to_numpy()
                       if "state" in z else ""})
    zip_states = zs.groupby("lid")["state"].agg(lambda s: tuple(sorted(set(s))))
    by_lid = {lid: ts for st in index[0] for lid, ts in index[0][st]}
    single = {index[0][st][0][0] for st in index[0] if len(index[0][st]) == 1}
    rows = []
    for lid, lname, lstate in zip(localities["locality_id"].astype(str),
                                  localities.get("locality_name", localities["locality_id"]).astype(str),
                                  localities["state"].astype(str).str.strip().str.upper(), strict=True):
        label = f"locality {lid} {lname}".rstrip()
        got = placed.get(lid, [])
        cbsas = sorted({c for _, _, c in got})
        states = [x for x in zip_states.get(lid, ()) if x]
        # names in the locality's list no county of its state matched (a county of another
        # state, a city that is not a county ...): "all other counties" words are not names
        missing = [] if lid in single else [
            t for t in by_lid.get(lid, []) if t and t not in matched.get(lid, set())
            and not re.search(r"\b(ALL|OTHER|REST|REMAINDER|STATEWIDE|ENTIRE)\b", t)]
        if unsure.get(lid):
            status, cbsa = UNSURE, ""
            text = (f"the ZIP's PFS {label}: county {', '.join(unsure[lid][:3])} could not be placed in "
                    "one locality from LOCCO, so its CBSAs are not known: give a cbsa or county_fips column")
        elif len(states) > 1 or (states and states[0] != lstate) or missing:
            status, cbsa = PARTLY_KNOWN, ""
            why = (f"its ZIPs lie in {len(states)} states ({', '.join(states)})" if len(states) > 1
                   or (states and states[0] != lstate)
                   else f"its LOCCO list names {', '.join(repr(m) for m in missing[:3])}, which no county "
                        "of the county crosswalk in its state matches")
            text = (f"the ZIP's PFS {label}: {why}, so its counties are not all known: give a cbsa or "
                    "county_fips column")
        elif not got:
            status, cbsa = NO_COUNTY, ""
            text = (f"the ZIP's PFS {label}: no county of the county crosswalk is placed in it from LOCCO: "
                    "give a cbsa or county_fips column")
        elif len(cbsas) > 1:
            status, cbsa = MANY_CBSAS, ""
            text = (f"the ZIP's PFS {label} spans {len(cbsas)} CBSAs ({len(got)} counties): "
                    "give a cbsa or county_fips column")
        else:
            status, cbsa = PLACED, cbsas[0]
            names = ", ".join(f"{f} {n.title()}" for f, n, _ in got[:3]) + (
                f" and {len(got) - 3} more" if len(got) > 3 else "")
            text = f"{label} -> county {names} -> CBSA {cbsa}" if len(got) == 1 else \
                f"{label} -> counties {names} -> CBSA {cbsa}"
        rows.append({"locality_id": lid, "name": lname, "status": status, "cbsa": cbsa,
                     "n_cbsas": len(cbsas), "text": text})
    loc = pd.DataFrame(rows, columns=["locality_id", "name", "status", "cbsa", "n_cbsas", "text"])
    return ZipTable(zip_loc, loc.drop_duplicates("locality_id").set_index("locality_id"))


def place_zips(table: ZipTable, zips: Sequence[str] | np.ndarray) -> pd.DataFrame:
    """One row per ZIP (5-digit text, in order): ``zip``, ``locality_id`` ("" when the ZIP5 file
    has none), ``status`` (:data:`PLACED`, :data:`MANY_CBSAS`, :data:`UNSURE`,
    :data:`PARTLY_KNOWN`, :data:`NO_COUNTY`, :data:`NOT_IN_ZIP5`), ``cbsa`` ("" unless placed) and
    ``text``: the chain (``"ZIP 92101 -> locality 01182-72 SAN DIEGO-CHULA VISTA-CARLSBAD -> county
    06073 San Diego -> CBSA 41740 (placed by ZIP)"``) or why the ZIP places nothing. Vectorised
    (pass distinct ZIPs)."""
    z = pd.Series(np.asarray(zips, dtype=object)).astype(str)
    lid = z.map(table.zip_locality).fillna("").astype(str)
    loc = table.localities
    status = lid.map(loc["status"]).fillna(NOT_IN_ZIP5).astype(str)
    cbsa = lid.map(loc["cbsa"]).fillna("").astype(str).where(status == PLACED, "")
    text = lid.map(loc["text"]).fillna("").astype(str)
    text = np.where(status == PLACED, "ZIP " + z + " -> " + text + " (placed by ZIP)",
                    np.where(status == NOT_IN_ZIP5, "ZIP " + z + " is not in the year's ZIP5 file (or its "
                             "locality is not in the GPCI file): give a cbsa or county_fips column", text))
    return pd.DataFrame({"zip": z.to_numpy(), "locality_id": lid.to_numpy(), "status": status.to_numpy(),
                         "cbsa": cbsa.to_numpy(), "text": np.asarray(text, dtype=object)})


__all__ = ["FORMER_NAMES", "MANY_CBSAS", "NOT_IN_ZIP5", "NO_COUNTY", "PARTLY_KNOWN", "PLACED", "UNSURE",
           "ZIP5_STATES", "CountyPlace", "ZipTable", "county_key", "place_county", "place_zips", "zip_table"]
