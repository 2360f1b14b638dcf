"""Writing settlement results: integer fen out as yuan with exactly two decimals."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import polars as pl
import pyarrow as pa

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


def write_settled(settled: pl.DataFrame, path: str | Path) -> None:
    write_table(money_for(settled.select(SETTLE_OUTPUT), path), path)
