"""The shortcuts the claims stages take on plain Arrow-backed text give the documented results.

Each shortcut (plain-number charges, claim ids and ZIP codes without blanks, five-character
HCPCS cells) has a general path for everything else; both are checked here against values
written by hand, with text columns as pandas reads a CSV (``str`` dtype, Arrow storage).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from rvucalc.calc.groups import dense_ids, first_of_id, positions
from rvucalc.claims.contract import claim_keys
from rvucalc.claims.lines import ReasonBits
from rvucalc.claims.normalise import _norm_zips_text, _plain_codes, parse_charge


def text(values: list) -> pd.Series:
    return pd.Series(values, dtype="str")


def test_plain_charges_are_read_as_written():
    charge, bad = parse_charge(text(["100", "99.5", "5.", ".25", "0", "100000000", "100000000.01"]))
    assert charge[:6].tolist() == [100.0, 99.5, 5.0, 0.25, 0.0, 100_000_000.0]
    assert np.isnan(charge[6]) and bad.tolist() == [False] * 6 + [True]  # above MAX_CHARGE


def test_charges_that_are_not_plain_numbers_take_the_general_rules():
    charge, bad = parse_charge(text(["1.2.3", "12", "$1,000.50", "", " 7 ", "-5", "1e3"]))
    assert bad.tolist() == [True, False, False, False, False, True, True]
    assert charge[1:3].tolist() == [12.0, 1000.5] and charge[4] == 7.0
    assert np.isnan(charge[3])  # empty: no charge, not bad


def test_claim_ids_without_blanks_and_missing_ids():
    key, missing = claim_keys(text(["A1", "B2", "A1", "NA", "", "n/a", "None", "C"]), np.arange(8))
    assert missing.tolist() == [False, False, False, True, True, True, True, False]
    assert key[0] == key[2] and len(set(key.tolist())) == 7  # each missing id a claim of its own


def test_claim_ids_with_blanks_are_stripped():
    key, missing = claim_keys(text(["A1", " A1", "A1 ", "B"]), np.arange(4))
    assert key[0] == key[1] == key[2] != key[3] and not missing.any()


def test_zip_codes_by_their_digits():
    got = _norm_zips_text(pd.Index(["02134", "2134", "123456789", "12345-6789", "12345.0", "1234567", "", "ab"],
                                   dtype="str"))
    assert got.tolist() == ["02134", "02134", "12345", "12345", "12345", "", "", ""]


def test_five_character_hcpcs_cells():
    got = _plain_codes(pd.Index(["20983", "j1100", "2098", "20983-50", " 99213", "ABCDEF"], dtype="str"))
    assert got.tolist() == [True, True, False, False, False, False]


def test_dense_ids_number_tuples_in_order_of_first_appearance():
    ids, k = dense_ids(np.array([7, 7, 3, 7, 3]), np.array([1, 2, 1, 1, 1]))
    assert ids.tolist() == [0, 1, 2, 0, 2] and k == 3
    assert first_of_id(ids).tolist() == [True, True, True, False, False]
    big = np.array([10**15, -(10**15), 10**15])  # ranges too wide to combine: renumbered pairwise
    ids, k = dense_ids(big, np.array([10**15, 1, 10**15]))
    assert ids.tolist() == [0, 1, 0] and k == 2
    pos, k = positions(np.array([5, 2, 5]))
    assert pos.tolist() == [5, 2, 5] and k == 6


def test_reason_bits_for_few_and_many_lines():
    rb = ReasonBits(200)
    few = np.zeros(200, dtype=bool)
    few[[3, 4]] = True  # 2 of 200 lines: a masked OR
    many = np.arange(200) % 2 == 0  # 100 of 200: the bit shifted into every line
    rb.add("A", few)
    rb.add("B", many)
    assert rb.bits[3] == 1 and rb.bits[4] == 3 and rb.bits[2] == 2 and rb.bits[1] == 0
    assert (rb.bits[many] & 2).all() and not (rb.bits[~many] & 2).any()


def _messy_lines() -> pd.DataFrame:
    """Lines with each of normalise's reasons, some of them together on one line."""
    return pd.DataFrame({
        "claim_id": text(["C1", "C1", "", "NA", "C2", "C3", "C2", "C4"]),
        "hcpcs": text(["99213", "20983-50", "99213", "99214", "71046-XS", "99213", "99213", "71046"]),
        "modifiers": text(["", "", "", "", "", "54", "", ""]),  # 54: not applied
        "units": text(["1", "2", "0", "1", "1", "x", "1", "1"]),
        "date_of_service": text(["2026-07-01", "2026-07-01", "2026-07-02", "bad", "2026-07-03",
                                 "2026-07-03", "2026-07-03", "2026-07-04"]),
        "charge": text(["100", "-5", "50", "", "75.5", "abc", "20", "10"]),
        "zip": text(["90012"] * 8),
        "pos": text(["11"] * 8),
    })


def test_claim_ids_hashed_on_a_second_thread_give_the_same_lines(monkeypatch):
    from rvucalc.claims import normalise as nm

    df = _messy_lines()
    monkeypatch.setattr(nm, "BACKGROUND_LINES", 10**9)
    alone = nm.normalise(df)
    monkeypatch.setattr(nm, "BACKGROUND_LINES", 1)
    threaded = nm.normalise(df)
    assert threaded.claim.tolist() == alone.claim.tolist()
    assert threaded.group.tolist() == alone.group.tolist()
    assert threaded.reasons.codes == alone.reasons.codes
    assert threaded.reasons.bits.tolist() == alone.reasons.bits.tolist()
    text_of = [str(r) for r in threaded.reasons.categorical()]
    # normalise's reasons in their stated order, whichever part of normalise found them first
    assert text_of[2] == "CLAIM_ID_MISSING|REPRICE_BAD_UNITS"
    assert text_of[3] == "CLAIM_ID_MISSING|REPRICE_BAD_DATE"
    assert text_of[1] == "REPRICE_BAD_CHARGE"
    assert text_of[5] == "REPRICE_BAD_UNITS|REPRICE_BAD_CHARGE|MOD_NOT_PRICED"
    assert text_of[0] == text_of[6] == text_of[7] == ""


def test_an_error_on_the_second_thread_reaches_the_caller(monkeypatch):
    import pytest

    from rvucalc.claims import normalise as nm

    def broken(*args):
        raise RuntimeError("claim ids could not be read")

    monkeypatch.setattr(nm, "BACKGROUND_LINES", 1)
    monkeypatch.setattr(nm, "claim_keys", broken)
    with pytest.raises(RuntimeError, match="claim ids could not be read"):
        nm.normalise(_messy_lines()).group_ids()  # raised where the keys are first read


def test_modifier_flags_from_bits():
    from rvucalc.claims.normalise import MODIFIER_FLAGS, ModifierFlags

    j26, jrt = MODIFIER_FLAGS.index("26"), MODIFIER_FLAGS.index("RT")
    flags = ModifierFlags(np.array([0, 1 << j26, (1 << j26) | (1 << jrt)], dtype=np.uint16))
    assert flags["26"].tolist() == [False, True, True] and flags["RT"].tolist() == [False, False, True]
    assert flags["50"].tolist() == [False, False, False]
    assert list(flags) == list(MODIFIER_FLAGS) and len(flags) == len(MODIFIER_FLAGS)
    assert "XS" not in flags and flags.get("XS") is None


def test_few_distinct_codes_match_factorize_across_blocks():
    from rvucalc.claims.lines import few_distinct_codes

    values = np.array([5, 5, 9, 0, 9, 7, 5, 0, 3, 3, 7], dtype=np.uint64)
    codes, uniq = few_distinct_codes(values, block=3)  # four blocks
    assert codes.tolist() == [0, 0, 1, 2, 1, 3, 0, 2, 4, 4, 3]
    assert [int(u) for u in uniq] == [5, 9, 0, 7, 3]


def test_a_forked_child_hashes_on_a_thread_of_its_own(monkeypatch):
    import multiprocessing as mp
    import sys

    import pytest

    from rvucalc.claims import normalise as nm

    if sys.platform != "linux":
        pytest.skip("fork is the default start method on Linux only")
    monkeypatch.setattr(nm, "BACKGROUND_LINES", 1)
    nm.normalise(_messy_lines())  # the parent's helper thread exists
    ctx = mp.get_context("fork")
    with ctx.Pool(1) as pool:  # the child inherits the pool object, not its thread
        got = pool.apply_async(_claims_in_child).get(timeout=60)
    assert got == nm.normalise(_messy_lines()).claim.tolist()


def _claims_in_child() -> list:
    from rvucalc.claims import normalise as nm

    nm.BACKGROUND_LINES = 1
    return nm.normalise(_messy_lines()).claim.tolist()


def test_a_reason_added_later_keeps_its_place():
    rb = ReasonBits(4)
    rb.later("A", lambda: np.array([True, False, False, True]))  # e.g. still computed elsewhere
    rb.add("B", np.array([True, True, False, False]))
    assert rb.codes == ["A", "B"]
    assert rb.bits.tolist() == [3, 2, 0, 1]  # reading the bits adds A
    assert [str(r) for r in rb.categorical()] == ["A|B", "B", "", "A"]
