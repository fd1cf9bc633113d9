"""Claim-line repricing: the in-memory engine of every setting.

:func:`reprice` (physician fee schedule), :func:`reprice_opps` (hospital outpatient facility,
OPPS) and :func:`reprice_asc` (ASC facility) price a whole DataFrame of claim lines as one chunk
of the claims pipeline (:func:`rvucalc.claims.pipeline.price_frame`); the stages live in
:mod:`rvucalc.claims.pfs`, :mod:`rvucalc.claims.opps` and :mod:`rvucalc.claims.asc`.

Physician fee schedule:

``rvucalc.reprice(lines)`` prices a whole DataFrame of claim lines at once:
it picks the PFS release for each line's date of service, the locality from
the ZIP code (CMS ZIP5 file) or a locality id, the facility or non-facility
rate from the place of service, the fee schedule amount of the code's own
PPRRVU row (26/TC/53 rows for those modifiers), and then applies the payment
policy rules of :mod:`rvucalc.calc.policy`, each as its own column. No line
is ever dropped: a line that cannot be priced keeps its place with reason
codes (see :func:`rvucalc.explain`).

This is the in-memory engine of the claims pipeline (:mod:`rvucalc.claims`):
the whole frame is one chunk, priced by the stages of :mod:`rvucalc.claims.pfs`
after :mod:`rvucalc.claims.normalise`. Files of any size stream through
:func:`rvucalc.claims.stream.reprice_file`; a Dask cluster uses
:mod:`rvucalc.dask`. All three give identical output.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping

import pandas as pd

from . import arguments
from .claims import pipeline
from .claims.edits import option as edit_option
from .claims.lines import ReasonBits
from .claims.pfs import OUTPUT_COLUMNS, choose_for_quarter, refusing_codes
from .reasons import REGISTRY


def reprice(
    lines: pd.DataFrame,
    *,
    releases: Mapping[str, object] | Iterable[object] | None = None,
    mirror: str | os.PathLike[str] | None = None,
    sequestration: bool = False,
    dayfirst: bool = False,
    progress: bool = False,
    edits: bool = True,
    conversion_factor: float | str | None = None,
    columns: Mapping[str, str] | str | None = None,
) -> pd.DataFrame:
    """Reprice claim lines under the Medicare physician fee schedule.

    Parameters
    ----------
    lines:
        One row per claim line. Columns: ``claim_id``, ``hcpcs`` (``20983``, or with modifiers
        ``20983-50``), ``modifiers`` (optional; ``"26"``, ``"50"``, ``"51 LT"``, ``"50,lt"``),
        ``units`` (optional, default 1; whole numbers), ``pos`` (CMS place of service), ``zip``
        and/or ``locality`` (a MAC-locality id such as ``01182-18``, or ``national``; the ZIP
        wins when both are given), ``date_of_service`` (ISO, or ``MM/DD/YYYY``), ``charge``
        (optional: the allowed amount is the lower of the charge and the fee schedule amount;
        ``$1,000.00`` is read) and ``participating`` (optional, default yes: ``N``, ``no``,
        ``nonpar``, ``0``, ``false`` give the non-participating 95%; a value read as neither
        yes nor no refuses the line, ``REPRICE_BAD_PARTICIPATING``). Text or typed columns; nothing in them is changed. How each is
        read: :mod:`rvucalc.claims.normalise`.
    releases:
        The releases to use: ids (``["rvu26c"]``) or FeeSchedule objects (from
        :func:`rvucalc.load`). By default every catalogued PFS release whose PPRRVU file is at
        hand, chosen per date of service; releases are loaded once per process.
    mirror:
        Folder of CMS files, passed to :func:`rvucalc.load`.
    sequestration:
        Also compute the 2% sequestration reduction of Medicare's payment
        (``sequestration`` and ``medicare_payment`` columns; Medicare's
        payment is taken as 80% of the allowed amount, i.e. the standard 20%
        coinsurance and no deductible).
    dayfirst:
        Read slashed dates as day/month/year (default month/day/year).
    progress:
        Kept for compatibility; the in-memory call is one step (file streaming has a progress bar).
    edits:
        Apply the claim edits first (default): duplicate lines, and the NCCI PTP edits and MUEs
        of the date of service's quarter where their files are at hand
        (:mod:`rvucalc.claims.edits`); a denied line is priced at no amount with its reason and
        an ``edit_note``. ``False`` prices every line as given (no ``edit_note`` column).
    conversion_factor:
        A what-if PFS CF (:mod:`rvucalc.whatif`): dollars (``34.0``, every release at it) or a
        percent of each release's own CF (``"98.8%"``, the same meaning in every year). Each
        line's ``release_note`` says the CF it was priced at. Release ids only: FeeSchedule
        objects in *releases* are priced at the CF they were loaded with.
    columns:
        Headers of the columns above when they are named otherwise, e.g. ``{"claim_id":
        "CLM_ID", "hcpcs": "HCPCS_CD", "units": "LINE_SRVC_CNT"}`` (or the text
        ``"claim_id=CLM_ID,hcpcs=HCPCS_CD"``). Without it, a header is matched ignoring case,
        spaces and underscores (``Claim ID``, ``DATE_OF_SERVICE``); see
        :mod:`rvucalc.claims.columns`. The user's columns keep their own names in the result;
        ``attrs["rvucalc.columns"]`` records which header was read as what.

    Returns
    -------
    A copy of *lines*, same rows in the same order, plus
    :data:`OUTPUT_COLUMNS`: ``release`` and ``release_note``, ``locality_id``,
    ``setting``, ``pricing_modifier``, ``status``, ``base_amount``, one factor
    per adjustment (``units_factor``, ``bilateral_factor``,
    ``mult_proc_factor`` with ``mult_proc_rank``, ``cosurgery_factor``,
    ``assistant_factor``, ``team_factor``, ``bundled_factor``,
    ``nonpar_factor``), ``fee_schedule_amount``, ``limiting_charge``,
    ``charge_limited``, ``allowed``, ``sequestration``, ``medicare_payment``,
    ``payable`` and ``reason`` (pipe-separated codes; see
    :func:`rvucalc.explain`). ``allowed`` is NaN exactly when a refusing
    reason is present (``payable`` False); other codes explain adjustments. The text columns
    rvucalc adds are pandas categoricals (a few distinct texts on every line: one byte per line,
    not a copy of the text; see the README, "Three ways to run it"); *lines*' columns keep
    their types.
    """
    arguments.frame(lines, "lines", what="claim lines")
    if not isinstance(releases, Mapping):
        releases = arguments.names(releases, "releases", example="['rvu26c']")
    from .whatif import parse_cf

    schedules = pipeline.schedules_of(releases)
    what_if = parse_cf(conversion_factor)
    if what_if is not None and schedules:
        raise TypeError("conversion_factor= takes release ids in releases=; FeeSchedule objects are priced "
                        "at the CF they were loaded with (rvucalc.load(..., conversion_factor=))")
    extra = {"conversion_factor": what_if} if what_if is not None else {}
    opts = pipeline.options("pfs", releases=releases, mirror=mirror, sequestration=sequestration,
                            dayfirst=dayfirst, columns=columns, **edit_option(edits), **extra)
    return pipeline.price_frame(lines, opts, schedules=schedules)


def reprice_opps(lines: pd.DataFrame, *, releases: Iterable[str] | None = None,
                 mirror: str | os.PathLike[str] | None = None, wage_index: float | None = None,
                 ipps_table2: str | os.PathLike[str] | None = None,
                 dayfirst: bool = False, edits: bool = True,
                 columns: Mapping[str, str] | str | None = None) -> pd.DataFrame:
    """Reprice hospital outpatient claim lines under the OPPS, claim by claim.

    Parameters
    ----------
    lines:
        One row per claim line: ``claim_id``, ``hcpcs`` (``20983``, ``20983-73``),
        ``modifiers`` (optional), ``units`` (optional, default 1), ``date_of_service``, and the
        hospital's place, any of: ``wage_index`` (the hospital's own, IPPS Table 2), ``ccn``
        (with *ipps_table2*), ``cbsa`` or ``county_fips`` (an approximation, flagged). Read as
        :mod:`rvucalc.claims.normalise` documents; nothing in them is changed.
    releases:
        Addendum B release ids to use (``["opps-2025-01"]``); default: every one at hand,
        chosen per date of service (never another year).
    wage_index:
        One wage index for lines that give none (default: national, flagged).
    ipps_table2:
        Path of CMS's IPPS Table 2 (case-mix and wage index by CCN) for a ``ccn`` column.
    edits:
        Apply the claim edits first (default; :mod:`rvucalc.claims.edits`: duplicate lines, the
        hospital outpatient NCCI PTP edits and MUEs where at hand); ``False`` prices every line.
    columns:
        Headers of the columns named otherwise (as for :func:`reprice`).

    Returns
    -------
    A copy of *lines* plus ``release``, ``release_note``, ``status_indicator``, ``apc``,
    ``line_status`` (paid, discounted, packaged, not paid), ``paid_units``,
    ``discount_factor``, ``facility_wage_index``, ``facility_payment``,
    ``beneficiary_copay``, ``medicare_payment``, ``claim_total`` and ``reason`` (see
    :func:`rvucalc.explain`). Line amounts are rounded once; the claim total is their sum.
    """
    arguments.frame(lines, "lines", what="claim lines")
    wage_index = arguments.wage_index(wage_index)
    releases = arguments.names(releases, "releases", example="['opps-2025-01']")
    return pipeline.price_frame(lines, pipeline.facility_options("hopd", releases, mirror, dayfirst, wage_index,
                                                                 ipps_table2, edits, columns))


def reprice_asc(lines: pd.DataFrame, *, releases: Iterable[str] | None = None,
                mirror: str | os.PathLike[str] | None = None, wage_index: float | None = None,
                dayfirst: bool = False, edits: bool = True,
                columns: Mapping[str, str] | str | None = None) -> pd.DataFrame:
    """Reprice ASC claim lines, claim by claim.

    As :func:`reprice_opps`, with the ASC's place given by ``wage_index``, ``cbsa`` or
    ``county_fips`` columns, and releases such as ``["asc-2025-01"]``. Adds ``release``,
    ``release_note``, ``payment_indicator``, ``line_status``, ``paid_units``,
    ``discount_factor``, ``facility_wage_index``, ``facility_payment``,
    ``beneficiary_copay``, ``medicare_payment``, ``claim_total`` and ``reason``.
    """
    arguments.frame(lines, "lines", what="claim lines")
    wage_index = arguments.wage_index(wage_index)
    releases = arguments.names(releases, "releases", example="['asc-2025-01']")
    return pipeline.price_frame(lines, pipeline.facility_options("asc", releases, mirror, dayfirst, wage_index, None,
                                                                 edits, columns))


def explain_reasons(reason: str) -> list[str]:
    """Plain words for a pipe-separated reason cell: ``["CODE: message (rule)", ...]``."""
    return [str(REGISTRY[c]) for c in reason.split("|") if c]


__all__ = ["OUTPUT_COLUMNS", "ReasonBits", "choose_for_quarter", "explain_reasons", "refusing_codes",
           "reprice", "reprice_asc", "reprice_opps"]
