"""Declared table schemas: every loaded table has the declared dtypes; violations are named."""

from __future__ import annotations

import pandas as pd
import pytest

from rvucalc.errors import CMSFileError
from rvucalc.schemas import SCHEMAS, conform


def test_loaded_tables_match_their_schemas(fs25):
    tables = {"pprrvu": fs25.rvus, "gpci": fs25.gpci, "zip5": fs25.zip5, "anes": fs25.anes,
              "addendum_b": fs25.opps.addendum_b, "addendum_aa": fs25.asc.addendum_aa}
    for name, df in tables.items():
        sch = SCHEMAS[name]
        for c in sch.text:
            assert pd.api.types.is_string_dtype(df[c]), (name, c)
        for c in sch.floats:
            assert df[c].dtype == "float64", (name, c)


def test_conform_names_the_problem():
    ok = pd.DataFrame({"locality_id": ["01182-18"], "mac": ["01182"], "locality": ["18"], "state": ["CA"],
                       "locality_name": ["LA"], "work_gpci": [1.0], "work_gpci_no_floor": [1.0],
                       "pe_gpci": [1.1], "mp_gpci": [0.6], "has_floor_variants": [False]})
    assert conform(ok, "gpci")["locality_id"].dtype == "string"
    with pytest.raises(CMSFileError, match="pe_gpci"):
        conform(ok.drop(columns="pe_gpci"), "gpci", "GPCI.csv")
    with pytest.raises(CMSFileError, match="numbers"):
        conform(ok.assign(mp_gpci=["x"]), "gpci")
    with pytest.raises(CMSFileError, match="blank"):
        conform(ok.assign(locality_id=[" "]), "gpci")
