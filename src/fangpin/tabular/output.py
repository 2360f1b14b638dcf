"""Writing settlement results: integer fen out as yuan with exactly two decimals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

from fangpin.tabular import pqjoin
from fangpin.tabular.io import table_format, write_table

SETTLE_OUTPUT = (
    "setl_id",
    "psn_no",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "hosp_part_amt",
    "fund_pay_sumamt",
    "psn_part_amt",
    "group",
)
MONEY_COLUMNS = frozenset(
    {
        "hifp_pay",
        "hifmi_pay",
        "maf_pay",
        "oth_pay",
        "hosp_part_amt",
        "fund_pay_sumamt",
        "psn_part_amt",
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        "inscp_scp_amt",
        "subsidy",
        "personal_pay",
        "amount",
    }
)


def yuan_text(col: str | pl.Expr) -> pl.Expr:
    """Fen as '123.45' (half of the '-' sign handled for adjustments)."""
    c = pl.col(col) if isinstance(col, str) else col
    a = c.abs()
    sign = pl.when(c < 0).then(pl.lit("-")).otherwise(pl.lit(""))
    return pl.concat_str(
        sign, (a // 100).cast(pl.String), pl.lit("."), (a % 100).cast(pl.String).str.zfill(2)
    )


def yuan_decimal(fen: pl.Series) -> pl.Series:
    """Integer fen as Decimal(18, 2) yuan, exactly: fen is already the decimal's unscaled value."""
    values = fen.to_numpy()
    if fen.null_count() or values.dtype != np.int64:
        return (fen.cast(pl.Decimal(38, 2)) / 100).cast(pl.Decimal(18, 2)).alias(fen.name)
    # A decimal128 is a little-endian 128-bit integer: the fen, then its sign extension.
    buf = np.empty((len(values), 2), dtype=np.int64)
    buf[:, 0] = values
    buf[:, 1] = values >> 63
    arr = pa.Array.from_buffers(pa.decimal128(18, 2), len(values), [None, pa.py_buffer(buf)])
    return pl.Series(fen.name, arr)


def money_for(
    df: pl.DataFrame, path: str | Path, money: frozenset[str] = MONEY_COLUMNS
) -> pl.DataFrame:
    """Convert money columns to yuan: text for CSV, Decimal(18,2) for Parquet."""
    if table_format(path) == ".parquet":
        return df.with_columns(yuan_decimal(df[c]) for c in df.columns if c in money)
    return df.with_columns(yuan_text(c).alias(c) for c in df.columns if c in money)


def fen_decimal64(fen: pl.Series) -> pa.Array | None:
    """Integer fen as an Arrow decimal64(18, 2) over the same memory (no copy), or None when the
    column holds nulls or is not int64."""
    if fen.null_count() or fen.dtype != pl.Int64:
        return None
    values = fen.to_numpy()  # one chunk: a view; several: copied into one
    return pa.Array.from_buffers(pa.decimal64(18, 2), len(values), [None, pa.py_buffer(values)])


# LZ4, as the general writer uses (fast to write and to read back); one row group per 2**20 rows.
PARQUET_CODEC = "lz4"
ROW_GROUP_ROWS = 1 << 20


def _arrow_column(col: pl.Series) -> tuple[pa.Field, pa.Array | pa.ChunkedArray] | None:
    """One settled column as Arrow without copying it: money as decimal64 over the fen (None
    when it has nulls), text as string views over Polars' own buffers."""
    if col.name in MONEY_COLUMNS:
        money = fen_decimal64(col)
        return None if money is None else (pa.field(col.name, money.type), money)
    # A frame of the one column converts chunk by chunk; a Series, or a select from a frame whose
    # columns are chunked differently, is first copied into one chunk.
    level = pl.CompatLevel.newest() if col.dtype == pl.String else None
    table = pl.DataFrame([col]).to_arrow(compat_level=level)
    return table.schema.field(0), table.column(0)


def _arrow_settled(settled: pl.DataFrame) -> pa.Table | None:
    """The SETTLE_OUTPUT columns as an Arrow table, or None when a money column has nulls."""
    columns = [_arrow_column(settled[c]) for c in SETTLE_OUTPUT]
    if any(c is None for c in columns):
        return None
    return pa.Table.from_arrays([a for _, a in columns], schema=pa.schema([f for f, _ in columns]))


# How a settled frame's text columns are typed in a written file's Arrow schema (_arrow_column).
TEXT_TYPE = pa.string_view()


def write_settled(
    settled: pl.DataFrame, path: str | Path, source: pqjoin.SourceText | None = None
) -> None:
    """Settled claims out: Parquet straight from the fen buffers (INT64 decimals in the file, no
    128-bit copy on the way), reading back as the general writer's would; CSV as yuan text.

    `source`: the claims file's text columns (`Validated.source` of read_claims), given when
    `settled` holds every row of that file in its order; its setl_id and psn_no pages are then
    copied into the output as they are instead of being written again.
    """
    parquet = table_format(path) == ".parquet"
    if parquet and source is not None and _all_rows_of(settled, source):
        columns = [_arrow_column(settled[c]) for c in SETTLE_OUTPUT if c not in source.names]
        if all(c is not None for c in columns):
            table = pa.Table.from_arrays(
                [a for _, a in columns], schema=pa.schema([f for f, _ in columns])
            )
            pqjoin.write_with_copied(
                table,
                path,
                source,
                SETTLE_OUTPUT,
                {name: TEXT_TYPE for name in source.names},
                **_parquet_options(),
            )
            return
    table = _arrow_settled(settled) if parquet else None
    if table is None:
        write_table(money_for(settled.select(SETTLE_OUTPUT), path), path)
        return
    pqjoin.write_in_parts(table, path, row_group_rows=ROW_GROUP_ROWS, **_parquet_options())


def _parquet_options() -> dict:
    # Row-group min/max are kept for psn_no, which a reader looking for one person can use to
    # skip row groups; on setl_id (unique), the amounts and the group they cost more to write
    # than they would save. Only the group, of a handful of values, pays for a dictionary.
    return {
        "compression": PARQUET_CODEC,
        "use_dictionary": ["group"],
        "write_statistics": ["psn_no"],
        "store_decimal_as_integer": True,
    }


def _all_rows_of(settled: pl.DataFrame, source: pqjoin.SourceText) -> bool:
    """Whether `settled` is the source file's rows 1..n in order, with its text columns present.

    Validated rows are numbered once each, Parquet's from 1: n of them in ascending order from 1
    to n are all of them.
    """
    if not source.usable or settled.height != source.rows or "row" not in settled.columns:
        return False
    if not source.unchanged():  # changed since it was read: its pages may no longer be these rows
        return False
    if any(name not in settled.columns or name not in SETTLE_OUTPUT for name in source.names):
        return False
    row = settled["row"]
    return bool(row[0] == 1 and row[-1] == source.rows and row.is_sorted())
