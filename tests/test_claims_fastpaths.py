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
