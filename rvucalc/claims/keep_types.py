"""A Parquet input's columns keep their Arrow types, and every value, through to the output.

pandas' default conversion of an Arrow table loses what a Parquet file says exactly: an
``int32`` column with a null becomes ``float64`` (and an ``int64`` above 2**53 loses digits), a
NaN and a null both become NaN (written back as null), a ``decimal128(12, 3)`` becomes Python
decimals that come back as ``decimal128(4, 3)``, a struct's ``int32`` field comes back as
``double``, a ``string`` column as ``large_string``. Two steps keep the user's columns as given:

1. **Reading** (:func:`to_pandas`): a column whose values pandas' own types cannot hold
   exactly (integers with nulls, floats holding NaN, decimals, ``time64[ns]``, half floats,
   lists, structs, maps) is an Arrow-backed pandas column (``pd.ArrowDtype``), which holds its
   Arrow array as it is; the others convert as usual (text as pandas text, dates as dates), so
   the pricing reads them as it reads any frame.
2. **Writing** (:func:`restore_types`): each user column whose type differs only in its
   representation (``large_string`` for ``string``, a dictionary's index width,
   ``time64[us]`` for ``time32[ms]``, ``binary`` for ``fixed_size_binary[2]``...) is cast
   back to the input's type. The input's schema travels with the frame in
   ``DataFrame.attrs`` (:data:`SCHEMA_ATTR`; shared, not copied, when pandas copies attrs). A
   column changed since it was read keeps its new type when the input's type cannot hold it.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: ``DataFrame.attrs`` key of the input's Arrow schema (an :class:`InputSchema`).
SCHEMA_ATTR = "rvucalc.input_schema"

_NESTED = (pa.types.is_list, pa.types.is_large_list, pa.types.is_fixed_size_list, pa.types.is_list_view,
           pa.types.is_large_list_view, pa.types.is_struct, pa.types.is_map, pa.types.is_union)


class InputSchema:
    """The Arrow schema a frame was read with. pandas deep-copies ``attrs`` into every frame it
    derives: this object is shared instead (it is never changed)."""

    __slots__ = ("schema",)

    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema

    def __deepcopy__(self, memo: dict[int, Any]) -> InputSchema:
        return self

    def __copy__(self) -> InputSchema:
        return self

    def __repr__(self) -> str:
        return f"InputSchema({len(self.schema)} columns)"


def is_nested(t: pa.DataType) -> bool:
    """Lists, structs, maps and unions (of any depth)."""
    return any(f(t) for f in _NESTED)


def _lossy(col: pa.ChunkedArray) -> bool:
    """Whether pandas' default conversion of *col* would change a value or lose its type's detail."""
    t = col.type
    if pa.types.is_dictionary(t):
        return False
    if is_nested(t) or pa.types.is_decimal(t) or t == pa.float16() or t == pa.time64("ns"):
        return True
    if pa.types.is_integer(t):
        return col.null_count > 0
    if pa.types.is_floating(t):
        return bool(len(col)) and bool(pc.any(pc.is_nan(col)).as_py())
    return False


def to_pandas(table: pa.Table) -> pd.DataFrame:
    """*table* as a DataFrame in which every value is the table's own (see the module docstring)."""
    exact = {table.schema.field(i).type for i in range(table.num_columns) if _lossy(table.column(i))}
    if not exact:
        return table.to_pandas()
    return table.to_pandas(types_mapper=lambda t: pd.ArrowDtype(t) if t in exact else None)


def takeable(schema: pa.Schema) -> pa.Schema:
    """*schema* with view types (``string_view``, ``binary_view``; Arrow has no kernel to take
    rows of them) as ``large_string`` / ``large_binary``: the streaming engine's parts reorder
    rows. :func:`restore_types` casts them back."""
    fields = [f.with_type(pa.large_string() if pa.types.is_string_view(f.type) else pa.large_binary())
              if pa.types.is_string_view(f.type) or pa.types.is_binary_view(f.type) else f for f in schema]
    return pa.schema(fields, metadata=schema.metadata)


def remember(df: pd.DataFrame, schema: pa.Schema) -> pd.DataFrame:
    """Record *schema* as *df*'s input schema (for :func:`restore_types`); returns *df*."""
    df.attrs[SCHEMA_ATTR] = InputSchema(schema.remove_metadata())
    return df


def input_schema(df: pd.DataFrame) -> pa.Schema | None:
    """The input schema recorded on *df*, if any."""
    got = df.attrs.get(SCHEMA_ATTR)
    return got.schema if isinstance(got, InputSchema) else None


def restore_types(table: pa.Table, schema: pa.Schema | None) -> pa.Table:
    """*table* with each column named in *schema* cast back to *schema*'s type where it differs
    and the cast keeps every value (a column that cannot be is left as it is)."""
    if schema is None:
        return table
    for name in schema.names:
        i = table.schema.get_field_index(name)
        if i < 0:
            continue
        want = schema.field(name).type
        col = table.column(i)
        if col.type == want:
            continue
        try:
            cast = col.cast(want, safe=True)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            continue
        table = table.set_column(i, table.schema.field(i).with_type(want), cast)
    return table


__all__ = ["SCHEMA_ATTR", "InputSchema", "input_schema", "is_nested", "remember", "restore_types",
           "takeable", "to_pandas"]
