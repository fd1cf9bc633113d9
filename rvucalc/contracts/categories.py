"""Service categories for a book summary: E/M, surgery, imaging, lab, drugs, DME, facility...

A line's category comes from the fee schedule that priced it and then its code's section of the
code set (AMA CPT sections; CMS HCPCS Level II sections, see :mod:`rvucalc.codes`):

=================  ===========================================================================
Facility           a facility line: fee schedule ``opps`` or ``asc`` (setting ``hopd``/``asc``)
Lab                fee schedule ``clfs``; CPT Pathology and Laboratory 80047-89398 (on the PFS:
                   pathology such as 88305), PLA codes ``####U``
Drugs              fee schedule ``asp``; HCPCS J codes
DME                fee schedule ``dmepos``
Ambulance          fee schedule ``ambulance``
E/M                CPT Evaluation and Management 99202-99499
Anesthesia         CPT Anesthesia 00100-01999
Surgery            CPT Surgery 10004-69990
Imaging            CPT Radiology 70010-79999
Medicine           CPT Medicine 90281-99199 and 99500-99607
Other              everything else (HCPCS G, Q, Category III ``####T``...)
=================  ===========================================================================

The categories describe a book; they price nothing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..codes import parse_code

CATEGORIES = ("E/M", "Surgery", "Imaging", "Lab", "Drugs", "DME", "Facility", "Anesthesia", "Medicine",
              "Ambulance", "Other")
_BY_SCHEDULE = {"opps": "Facility", "asc": "Facility", "clfs": "Lab", "asp": "Drugs", "dmepos": "DME",
                "ambulance": "Ambulance"}
_RANGES = (("99202", "99499", "E/M"), ("00100", "01999", "Anesthesia"), ("10004", "69990", "Surgery"),
           ("70010", "79999", "Imaging"), ("80047", "89398", "Lab"), ("90281", "99199", "Medicine"),
           ("99500", "99607", "Medicine"))


def category_of(code: str, fee_schedule: str = "", setting: str = "") -> str:
    """The category of one code (see the module docstring)."""
    if fee_schedule in _BY_SCHEDULE:
        return _BY_SCHEDULE[fee_schedule]
    if setting in ("hopd", "asc"):
        return "Facility"
    c = str(code).upper()
    if len(c) != 5:
        return "Other"
    if c.isdigit():
        for lo, hi, cat in _RANGES:
            if lo <= c <= hi:
                return cat
        return "Other"
    if c[:4].isdigit() and c[4] == "U":
        return "Lab"
    if c[0] == "J":
        return "Drugs"
    return "Other"


def categories(hcpcs: pd.Series, fee_schedule: pd.Series, setting: pd.Series) -> pd.Categorical:
    """The category of each line, worked out once per distinct (code cell, fee schedule, setting)."""
    frame = pd.DataFrame({"h": hcpcs.astype(object), "f": fee_schedule.astype(object),
                          "s": setting.astype(object)})
    codes, uniq = pd.factorize(pd.MultiIndex.from_frame(frame))
    labels = []
    for h, f, s in uniq:  # distinct triples
        got = parse_code(h)
        labels.append(category_of(got[0] if got else "", str(f), str(s)))
    lab = np.array(labels, dtype=object)
    return pd.Categorical(lab[codes], categories=[c for c in CATEGORIES if c in set(labels)] or ["Other"])


__all__ = ["CATEGORIES", "categories", "category_of"]
