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


def write_settled(settled: pl.DataFrame, path: str | Path) -> None:
    """Settled claims out: Parquet straight from the fen buffers (INT64 decimals in the file, no
    128-bit copy on the way), reading back as the general writer's would; CSV as yuan text."""
    table = _arrow_settled(settled) if table_format(path) == ".parquet" else None
    if table is None:
        write_table(money_for(settled.select(SETTLE_OUTPUT), path), path)
        return
    # setl_id is unique: neither a dictionary nor min/max (costly on text, of no use) pays for it.
    pqjoin.write_in_parts(
        table,
        path,
        row_group_rows=ROW_GROUP_ROWS,
        compression=PARQUET_CODEC,
        use_dictionary=["group"],
        write_statistics=[c for c in SETTLE_OUTPUT if c != "setl_id"],
        store_decimal_as_integer=True,
    )
