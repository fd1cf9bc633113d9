"""Why a physician fee schedule amount changed: its change split into causes, in cents.

Pure arrays in, arrays out (no I/O, no tables): :func:`rvucalc.diff.diff` and
:func:`rvucalc.diff.diff_volumes` build the inputs from two releases.

The amount (CMS RVU file documentation, "The formula for ... physician fee
schedule payment amount"; see :mod:`rvucalc.calc.pfs`) is a sum of products
of three factors::

    amount = CF × (work RVU × work GPCI + PE RVU × PE GPCI + MP RVU × MP GPCI)
    work GPCI = work GPCI without the floor + floor bump (the 1.0 work GPCI floor)

Attribution: **Shapley values** over the eight factors (CF; work, PE, MP RVUs;
work GPCI without the floor, the floor bump, PE and MP GPCIs): each factor's
part is its marginal effect averaged over every order in which the factors
could move from their old to their new values, so no order is chosen and the
parts add up to the change exactly. For one product ``a × b × c`` this is, in
closed form (a, b, c each going from old to new values, ``x̄`` the mean of
old and new, ``Δx`` new − old)::

    part of a = Δa × (b̄ × c̄ + Δb × Δc / 12)

and a sum of products takes the sum over its products (Shapley values are
additive over games). Everything is whole-array numpy with broadcasting: RVUs
as a column (rows × 1) and GPCIs as a row (1 × localities) price the whole
schedule in one expression; equal-length vectors decompose single cells.

Policy and payability, also in dollars:

- ``opps_cap``: the OPPS imaging cap (Deficit Reduction Act of 2005 s.5102(b)).
  Where the cap sets the amount on both sides, the cap formula's change (its
  OPPS PE and MP RVUs in place of the PFS ones) is split by Shapley values
  over the same factors and this part is 0; where the cap applies on one side
  only, the fee schedule formula's change is split and this part is the cut
  the cap makes (``fee schedule amount − cap``) on the capped side: minus the
  new cut plus the old one.
- ``na``, ``status``, ``code``: where only one side has an amount, the whole
  change (that side's amount, the other counting as $0) is the part of the
  reason the other side has none: the setting's NA indicator (``na``); the
  code being absent from that release (``code``: added or deleted); any
  other reason (``status``: status code, no RVUs shown, not used for
  Medicare, or in a book a place or modifier one release cannot price).

Rounding: the amounts are rounded to cents half up once, at the end (CMS); a
change is the difference of the two rounded amounts. The unrounded Shapley
parts sum to the unrounded change, which is within a cent of the rounded one;
the parts are then rounded to whole cents by the **largest-remainder method**
(each part floored to the cent, and the cents still missing go one each to the
parts with the largest remainders; ties to the earlier part in :data:`PARTS`),
so the cent parts add up exactly to the rounded change and each part is within
a cent of its exact Shapley value.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The parts of a change, in this order (columns ``<setting>_from_<part>``).
PARTS: tuple[str, ...] = ("cf", "work_rvu", "pe_rvu", "mp_rvu", "work_gpci", "gpci_floor", "pe_gpci",
                          "mp_gpci", "opps_cap", "na", "status", "code")

#: Plain words for each part.
PART_LABELS: dict[str, str] = {
    "cf": "conversion factor",
    "work_rvu": "work RVU",
    "pe_rvu": "practice expense RVU",
    "mp_rvu": "malpractice RVU",
    "work_gpci": "work GPCI",
    "gpci_floor": "work GPCI floor (1.0)",
    "pe_gpci": "practice expense GPCI",
    "mp_gpci": "malpractice GPCI",
    "opps_cap": "OPPS imaging cap",
    "na": "NA indicator (no amount in the setting)",
    "status": "status or payability",
    "code": "code added or deleted",
}

#: The product-sum factors (Shapley players), a subset of :data:`PARTS`.
FACTORS: tuple[str, ...] = PARTS[:8]
#: Parts that take a whole change where only one side has an amount.
UNPAID_PARTS: tuple[str, ...] = ("na", "status", "code")


def _k(b0: np.ndarray, b1: np.ndarray, c0: np.ndarray, c1: np.ndarray) -> np.ndarray:
    """``b̄ × c̄ + Δb × Δc / 12``: the weight of the third factor's change in a product of three."""
    return (b0 + b1) * (c0 + c1) / 4.0 + (b1 - b0) * (c1 - c0) / 12.0


@dataclass(frozen=True)
class Formula:
    """One side of the product-sum formula: CF, three RVUs, four GPCI terms (broadcastable)."""

    cf: float | np.ndarray
    work_rvu: np.ndarray
    pe_rvu: np.ndarray
    mp_rvu: np.ndarray
    work_gpci_no_floor: np.ndarray
    floor: np.ndarray
    pe_gpci: np.ndarray
    mp_gpci: np.ndarray

    @property
    def work_gpci(self) -> np.ndarray:
        return self.work_gpci_no_floor + self.floor

    def value(self) -> np.ndarray:
        """The unrounded amount ``CF × (w × W + pe × P + mp × M)``."""
        return self.cf * (self.work_rvu * self.work_gpci + self.pe_rvu * self.pe_gpci
                          + self.mp_rvu * self.mp_gpci)


def shapley_parts(old: Formula, new: Formula) -> dict[str, np.ndarray]:
    """Shapley value of each factor in ``new.value() − old.value()`` (unrounded dollars).

    Keys: :data:`FACTORS`. Arrays broadcast to the common shape of the inputs.
    """
    c0, c1 = np.asarray(old.cf, dtype=float), np.asarray(new.cf, dtype=float)
    w0, w1 = old.work_rvu, new.work_rvu
    p0, p1 = old.pe_rvu, new.pe_rvu
    m0, m1 = old.mp_rvu, new.mp_rvu
    W0, W1 = old.work_gpci, new.work_gpci
    P0, P1 = old.pe_gpci, new.pe_gpci
    M0, M1 = old.mp_gpci, new.mp_gpci
    kcw = _k(c0, c1, w0, w1)  # weight of a change in the work GPCI (either of its two terms)
    parts = {
        "cf": (c1 - c0) * (_k(w0, w1, W0, W1) + _k(p0, p1, P0, P1) + _k(m0, m1, M0, M1)),
        "work_rvu": (w1 - w0) * _k(c0, c1, W0, W1),
        "pe_rvu": (p1 - p0) * _k(c0, c1, P0, P1),
        "mp_rvu": (m1 - m0) * _k(c0, c1, M0, M1),
        "work_gpci": (new.work_gpci_no_floor - old.work_gpci_no_floor) * kcw,
        "gpci_floor": (new.floor - old.floor) * kcw,
        "pe_gpci": (P1 - P0) * _k(c0, c1, p0, p1),
        "mp_gpci": (M1 - M0) * _k(c0, c1, m0, m1),
    }
    shape = np.broadcast_shapes(*(np.shape(v) for v in parts.values()))
    return {k: np.broadcast_to(v, shape) for k, v in parts.items()}


def allocate_cents(parts: np.ndarray, total_cents: np.ndarray) -> np.ndarray:
    """Round dollar *parts* (cells × k) to whole cents that add up to *total_cents* (int, per cell).

    Largest-remainder method: floor each part to the cent, then give the cents still
    missing one each to the parts with the largest remainders (ties: the earlier part).
    Needs ``|total − sum(parts)| < 1 cent`` per cell (true when the parts are the
    unrounded change and the total the change of the rounded amounts); a larger gap is
    a bug and raises ``ValueError``. Returns int64 cents (cells × k).
    """
    parts = np.asarray(parts, dtype=float)
    total = np.asarray(total_cents, dtype=np.int64)
    out = np.zeros(parts.shape, dtype=np.int64)
    k = parts.shape[1]
    live = np.flatnonzero(np.any(parts != 0, axis=1) | (total != 0))  # most cells of a schedule: all 0
    p = np.round(parts[live] * 100.0, 6)  # float noise off: a 0 part stays 0
    fl = np.floor(p)
    need = total[live] - fl.sum(axis=1).astype(np.int64)
    if need.size and (need.min() < 0 or need.max() > k):
        bad = int(np.flatnonzero((need < 0) | (need > k))[0])
        raise ValueError(f"cell {int(live[bad])}: parts {p[bad].tolist()} (cents) do not add up to "
                         f"{int(total[live[bad]])} cents within one cent")
    got = fl.astype(np.int64)
    rows = np.flatnonzero(need > 0)
    if rows.size:
        rem = p[rows] - fl[rows]
        order = np.argsort(-rem, axis=1, kind="stable")
        rank = np.empty_like(order)
        np.put_along_axis(rank, order, np.broadcast_to(np.arange(k), order.shape), axis=1)
        got[rows] += rank < need[rows, None]
    out[live] = got
    return out


@dataclass(frozen=True)
class Side:
    """One release's inputs for a set of cells (all arrays broadcast to the cells' shape).

    ``formula`` is the fee schedule formula with the setting's PE RVU; ``cap`` the
    OPPS cap formula (work RVU of the cap, OPPS PE and MP RVUs; same CF and GPCIs)
    with ``has_cap`` where the row has OPPS RVUs. ``amount`` is the amount paid,
    rounded to cents, NaN where none; ``unpaid`` the part that takes the change
    where this side has no amount (``"na"``, ``"status"`` or ``"code"``; ignored
    where paid).
    """

    formula: Formula
    cap: Formula
    has_cap: np.ndarray
    amount: np.ndarray
    unpaid: np.ndarray


@dataclass(frozen=True)
class Decomposition:
    """A change (int64 cents, unpaid side as $0) and its parts (int64 cents, same shape)."""

    change: np.ndarray
    parts: dict[str, np.ndarray]


def _capped(side: Side, fs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(capped, cut): where the cap is below the fee schedule amount, and by how much (else 0)."""
    cap = side.cap.value()
    with np.errstate(invalid="ignore"):
        capped = np.asarray(side.has_cap, dtype=bool) & (cap < fs)
    return capped, np.where(capped, fs - cap, 0.0)


def _unpaid_index(unpaid: np.ndarray) -> np.ndarray:
    """Index in :data:`PARTS` of the part taking a one-sided change (any other reason: status)."""
    u = np.asarray(unpaid, dtype=object)
    out = np.full(u.shape, PARTS.index("status"), dtype=np.int8)
    for name in ("na", "code"):
        out[u == name] = PARTS.index(name)
    return out


def decompose(old: Side, new: Side) -> Decomposition:
    """Split each cell's change ``new.amount − old.amount`` into :data:`PARTS`, in cents.

    See the module docstring for the attribution (Shapley values over the
    product-sum factors; OPPS cap; NA / status / code where one side has no
    amount) and the rounding (largest remainder, so the cent parts add up to
    the change of the rounded amounts exactly). A side with no amount counts as
    $0 in ``change``; cells with no amount on either side have change 0.
    """
    a0, a1 = np.asarray(old.amount, dtype=float), np.asarray(new.amount, dtype=float)
    shape = np.broadcast_shapes(a0.shape, a1.shape)
    a0, a1 = np.broadcast_to(a0, shape), np.broadcast_to(a1, shape)
    paid0, paid1 = ~np.isnan(a0), ~np.isnan(a1)
    c0 = np.rint(np.where(paid0, a0, 0.0) * 100.0).astype(np.int64)
    c1 = np.rint(np.where(paid1, a1, 0.0) * 100.0).astype(np.int64)
    change = c1 - c0
    both = paid0 & paid1
    with np.errstate(invalid="ignore"):
        fs0, fs1 = old.formula.value(), new.formula.value()
        capped0, cut0 = _capped(old, fs0)
        capped1, cut1 = _capped(new, fs1)
        fs_parts = shapley_parts(old.formula, new.formula)
        cap_parts = shapley_parts(old.cap, new.cap)
    both_capped = capped0 & capped1
    raw = np.zeros(shape + (len(PARTS),))
    for j, name in enumerate(FACTORS):
        v = np.where(both_capped, cap_parts[name], fs_parts[name])
        raw[..., j] = np.where(both, v, 0.0)
    j_cap = PARTS.index("opps_cap")
    raw[..., j_cap] = np.where(both & (capped0 != capped1), cut0 - cut1, 0.0)
    only1, only0 = paid1 & ~paid0, paid0 & ~paid1
    which = np.where(only1, _unpaid_index(old.unpaid), np.where(only0, _unpaid_index(new.unpaid), -1))
    dollars = change / 100.0
    for name in UNPAID_PARTS:
        j = PARTS.index(name)
        raw[..., j] = np.where(which == j, dollars, 0.0)
    flat = raw.reshape(-1, len(PARTS))
    cents = allocate_cents(flat, change.reshape(-1)).reshape(shape + (len(PARTS),))
    return Decomposition(change, {name: cents[..., j] for j, name in enumerate(PARTS)})


# -- facility rates (OPPS Addendum B, ASC Addendum AA) -------------------------------------

#: The parts of a facility rate's change (columns ``from_<part>``).
RATE_PARTS: tuple[str, ...] = ("conversion_factor", "weight", "apc_move", "rate_basis", "indicator", "code")

RATE_PART_LABELS: dict[str, str] = {
    "conversion_factor": "conversion factor",
    "weight": "relative weight (same APC)",
    "apc_move": "APC move (the code's new APC weight)",
    "rate_basis": "rate not set by weight x CF (ASP-based drug, ASC rate from PFS PE RVUs)",
    "indicator": "status / payment indicator (paid on one side only)",
    "code": "code added or deleted",
}


def decompose_rates(rate0: np.ndarray, rate1: np.ndarray, cf0: float, cf1: float, *, moved: np.ndarray,
                    other_basis: np.ndarray, unpaid0: np.ndarray, unpaid1: np.ndarray) -> Decomposition:
    """Split each change of a facility rate (``rate = relative weight × conversion factor``) into
    :data:`RATE_PARTS`, in cents.

    The weight is the one the rate implies (``rate / CF``): CMS computes rates from
    unrounded weights, so the printed 4-decimal weight times the CF can miss the rate
    by cents, while the implied weight makes the parts add up exactly. With two
    factors the Shapley values are the average of both orders::

        conversion_factor = ΔCF × (w_old + w_new) / 2
        weight            = Δw  × (CF_old + CF_new) / 2

    and the weight part is ``apc_move`` where *moved* (the code changed APC), else
    ``weight``. Where *other_basis* (the rate is not weight × CF on either side: an
    ASP-based drug, an ASC rate from PFS PE RVUs) the whole change is ``rate_basis``.
    Where only one side has a rate (NaN where none) the whole change is the part named
    by the other side's *unpaid* (``"code"`` where the code is absent, else ``indicator``). Rounded to cents by
    largest remainder (:func:`allocate_cents`), as :func:`decompose`.
    """
    r0, r1 = np.asarray(rate0, dtype=float), np.asarray(rate1, dtype=float)
    paid0, paid1 = ~np.isnan(r0), ~np.isnan(r1)
    c0 = np.rint(np.where(paid0, r0, 0.0) * 100.0).astype(np.int64)
    c1 = np.rint(np.where(paid1, r1, 0.0) * 100.0).astype(np.int64)
    change = c1 - c0
    dollars = change / 100.0
    both = paid0 & paid1
    w0, w1 = np.where(paid0, r0, 0.0) / cf0, np.where(paid1, r1, 0.0) / cf1
    cf_part = (cf1 - cf0) * (w0 + w1) / 2.0
    w_part = (w1 - w0) * (cf0 + cf1) / 2.0
    other = both & np.asarray(other_basis, dtype=bool)
    formula = both & ~other
    mv = np.asarray(moved, dtype=bool)
    raw = np.zeros(change.shape + (len(RATE_PARTS),))
    raw[..., 0] = np.where(formula, cf_part, 0.0)
    raw[..., 1] = np.where(formula & ~mv, w_part, 0.0)
    raw[..., 2] = np.where(formula & mv, w_part, 0.0)
    raw[..., 3] = np.where(other, dollars, 0.0)
    one = paid0 != paid1
    code = np.where(paid1 & ~paid0, np.asarray(unpaid0, dtype=object) == "code",
                    np.asarray(unpaid1, dtype=object) == "code")
    raw[..., 4] = np.where(one & ~code, dollars, 0.0)  # any reason but absence: the indicator
    raw[..., 5] = np.where(one & code, dollars, 0.0)
    cents = allocate_cents(raw.reshape(-1, len(RATE_PARTS)), change.reshape(-1))
    cents = cents.reshape(change.shape + (len(RATE_PARTS),))
    return Decomposition(change, {name: cents[..., j] for j, name in enumerate(RATE_PARTS)})


__all__ = ["FACTORS", "PARTS", "PART_LABELS", "RATE_PARTS", "RATE_PART_LABELS", "UNPAID_PARTS", "Decomposition",
           "Formula", "Side", "allocate_cents", "decompose", "decompose_rates", "shapley_parts"]
