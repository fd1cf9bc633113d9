"""Declared column types of rvucalc's canonical tables, and their validation.

Each reader in :mod:`rvucalc.iotools` already rejects bad cells with an error
naming the file, line and column; :func:`conform` is the last gate that every
table passes on its way into a :class:`~rvucalc.facade.FeeSchedule` (and into
the parquet cache): required columns present, text columns as pandas string
dtype, numeric columns as float64, flags as bool, and key columns never blank.
(A small in-house equivalent of a pandera schema: it costs milliseconds on a
whole fee schedule and reports in the project's own error type.)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from .errors import CMSFileError


@dataclass(frozen=True)
class TableSchema:
    text: tuple[str, ...] = ()
    floats: tuple[str, ...] = ()
    flags: tuple[str, ...] = ()
    keys: tuple[str, ...] = ()  # text columns that may never be blank
    optional: frozenset[str] = field(default_factory=frozenset)


_PPRRVU = TableSchema(
    text=("hcpcs", "modifier", "description", "status", "not_used_for_medicare", "na_nonfacility", "na_facility",
          "pctc", "global_days", "mult_proc", "bilat_surg", "asst_surg", "co_surg", "team_surg", "pricing_ind",
          "endo_base", "phys_supervision", "calc_flag", "imaging_family"),
    floats=("work_rvu", "pe_nonfacility", "pe_facility", "mp_rvu", "total_nonfacility", "total_facility", "preop",
            "intraop", "postop", "conversion_factor", "opps_pe_nonfacility", "opps_pe_facility", "opps_mp"),
    keys=("hcpcs", "status"),
)

_DMEPOS = TableSchema(text=("hcpcs", "modifier", "modifier2", "jurisdiction", "category", "description"),
                      floats=("ceiling", "floor"), keys=("hcpcs",))

SCHEMAS: dict[str, TableSchema] = {
    "pprrvu": _PPRRVU,
    "pprrvu_qp": _PPRRVU,
    "gpci": TableSchema(text=("locality_id", "mac", "locality", "state", "locality_name"),
                        floats=("work_gpci", "work_gpci_no_floor", "pe_gpci", "mp_gpci"),
                        flags=("has_floor_variants",), keys=("locality_id", "mac", "locality")),
    "locco": TableSchema(text=("locality_id", "mac", "locality", "state", "area_name", "counties"),
                         keys=("locality_id",)),
    "anes": TableSchema(text=("locality_id", "mac", "locality", "locality_name"), floats=("anes_cf", "anes_cf_qp"),
                        keys=("locality_id",)),
    "zip5": TableSchema(text=("zip", "state", "mac", "locality", "locality_id", "rural_ind", "lab_cb_locality",
                              "rural_ind2", "plus4_flag", "part_b_drug_ind", "year_qtr"),
                        keys=("zip", "locality_id")),
    "oppscap": TableSchema(text=("hcpcs", "modifier", "status", "mac", "locality", "locality_id"),
                           floats=("facility_price", "nonfacility_price"), keys=("hcpcs",)),
    "addendum_b": TableSchema(text=("hcpcs", "description", "status_indicator", "apc"),
                              floats=("relative_weight", "payment_rate", "national_copay", "minimum_copay"),
                              keys=("hcpcs",)),
    "addendum_aa": TableSchema(text=("hcpcs", "description", "payment_indicator"),
                               floats=("relative_weight", "payment_rate"), flags=("multiple_procedure_discount",),
                               keys=("hcpcs",)),
    "addendum_bb": TableSchema(text=("hcpcs", "description", "payment_indicator"),
                               floats=("relative_weight", "payment_rate"), keys=("hcpcs",)),
    # ASC final-rule addenda (rvucalc.iotools.asc_final_rule): FF device offsets, EE exclusions
    "addendum_ff": TableSchema(text=("hcpcs", "description", "payment_indicator", "apc"),
                               floats=("apc_device_offset_pct", "opps_payment_rate",
                                       "device_offset_pct", "device_portion"), keys=("hcpcs",)),
    "addendum_ee": TableSchema(text=("hcpcs", "description"), keys=("hcpcs",)),
    # CLFS, ASP, DMEPOS/PEN and the DMEPOS rural ZIP file (rvucalc.iotools.clfs/asp/dmepos); the
    # per-state DMEPOS fee columns (<st>_nr, <st>_r) are floats the reader checks
    "clfs": TableSchema(text=("hcpcs", "modifier", "year", "effective", "indicator", "description"),
                        floats=("rate",), keys=("hcpcs",)),
    "asp": TableSchema(text=("hcpcs", "description", "dosage", "notes"),
                       floats=("payment_limit", "coinsurance_pct", "vaccine_awp_pct", "vaccine_limit",
                               "blood_awp_pct", "blood_limit", "clotting_factor"), keys=("hcpcs",)),
    "dmepos": _DMEPOS,
    "pen": _DMEPOS,
    "rural_zip": TableSchema(text=("zip", "state", "year_quarter"), keys=("zip", "state")),
}


def conform(df: pd.DataFrame, table: str, file: str = "<table>") -> pd.DataFrame:
    """Check *df* against the schema of *table* and give it the declared dtypes.

    Tables without a declared schema pass unchanged. Raises
    :class:`~rvucalc.errors.CMSFileError` naming the file and column when a
    required column is missing, a number column is not numeric, or a key is blank.
    """
    sch = SCHEMAS.get(table)
    if sch is None:
        return df
    out = df.copy()
    for cols, kind in ((sch.text, "text"), (sch.floats, "float"), (sch.flags, "flag")):
        for c in cols:
            if c not in out:
                if c in sch.optional:
                    continue
                raise CMSFileError(file, f"a {kind} column {c!r} in the {table} table", column=c,
                                   found=list(out.columns))
            if kind == "text":
                out[c] = out[c].fillna("").astype(str).astype("string")
            elif kind == "float":
                if not pd.api.types.is_numeric_dtype(out[c]):
                    raise CMSFileError(file, "numbers", column=c, found=str(out[c].dtype))
                out[c] = out[c].astype("float64")
            else:
                out[c] = out[c].astype(bool)
    for c in sch.keys:
        blank = out[c].str.strip() == ""
        if blank.any():
            raise CMSFileError(file, "a value in every row", column=c,
                               found=f"{int(blank.sum())} blank row(s), first at row {int(blank.to_numpy().argmax()) + 1}")
    return out
