"""Vectorised parsing of amounts, dates, codes into exact values, with per-row reasons.

Each parser returns (value expression, reason expression); the reason is null where the value is
good, otherwise text naming the field and the bad value.
"""

from __future__ import annotations

import polars as pl

_YUAN = r"^-?\d{1,13}(\.\d{0,2})?$"


def _quote(col: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), col.cast(pl.String).fill_null(""), pl.lit("'"))


def amount_fen(df: pl.DataFrame, name: str) -> tuple[pl.Expr, pl.Expr]:
    """A yuan column (text, integer, decimal or float) as integer fen, with reasons."""
    dtype = df.schema[name]
    col = pl.col(name)
    if dtype == pl.String:
        s = col.str.strip_chars().str.replace_all(",", "", literal=True)
        ok = s.str.contains(_YUAN)
        whole = s.str.extract(r"^-?(\d+)", 1).cast(pl.Int64)
        frac = s.str.extract(r"\.(\d{1,2})$", 1).str.pad_end(2, "0").cast(pl.Int64).fill_null(0)
        sign = pl.when(s.str.starts_with("-")).then(-1).otherwise(1)
        fen = pl.when(ok).then(sign * (whole * 100 + frac))
        bad_text = (
            pl.when(s.is_null() | (s == ""))
            .then(pl.lit(f"{name}: missing"))
            .when(s.str.contains(r"^-?\d+\.\d{3,}$"))
            .then(pl.concat_str(pl.lit(f"{name}: more than 2 decimals "), _quote(col)))
            .otherwise(pl.concat_str(pl.lit(f"{name}: not a number "), _quote(col)))
        )
        reason = pl.when(~ok | s.is_null()).then(bad_text)
    elif isinstance(dtype, pl.Decimal):
        exact = col.cast(pl.Decimal(38, 2))
        fen = exact.to_physical().cast(pl.Int64)
        reason = (
            pl.when(col.is_null())
            .then(pl.lit(f"{name}: missing"))
            .when(exact != col)
            .then(pl.concat_str(pl.lit(f"{name}: more than 2 decimals "), _quote(col)))
        )
    elif dtype.is_integer():
        fen = col.cast(pl.Int64) * 100
        reason = pl.when(col.is_null()).then(pl.lit(f"{name}: missing"))
    elif dtype.is_float():
        # Binary floats cannot hold most fen exactly; accept them only when they round cleanly.
        scaled = col * 100
        fen = scaled.round(0).cast(pl.Int64)
        reason = (
            pl.when(col.is_null() | col.is_nan())
            .then(pl.lit(f"{name}: missing"))
            .when((scaled - scaled.round(0)).abs() > 1e-6)
            .then(pl.concat_str(pl.lit(f"{name}: more than 2 decimals "), _quote(col)))
        )
    else:
        fen = pl.lit(None, pl.Int64)
        reason = pl.lit(f"{name}: not an amount column ({dtype})")
    negative = pl.when(fen < 0).then(pl.concat_str(pl.lit(f"{name}: negative amount "), _quote(col)))
    return fen, pl.coalesce(reason, negative)


def date_value(df: pl.DataFrame, name: str, *, required: bool = True) -> tuple[pl.Expr, pl.Expr]:
    """A date column: ISO, YYYYMMDD or YYYY/MM/DD (time of day ignored), with reasons."""
    dtype = df.schema[name]
    col = pl.col(name)
    if dtype == pl.Date:
        value = col
    elif dtype == pl.Datetime or isinstance(dtype, pl.Datetime):
        value = col.dt.date()
    else:
        s = col.cast(pl.String).str.strip_chars().str.replace_all("/", "-", literal=True)
        s = s.str.slice(0, 10).str.strip_chars()
        iso = s.str.to_date("%Y-%m-%d", strict=False)
        compact = s.str.to_date("%Y%m%d", strict=False)
        value = pl.coalesce(iso, pl.when(s.str.len_chars() == 8).then(compact))
    empty = col.is_null() | (col.cast(pl.String).str.strip_chars() == "")
    bad = pl.concat_str(pl.lit(f"{name}: not a valid date "), _quote(col))
    if required:
        reason = pl.when(empty).then(pl.lit(f"{name}: missing")).when(value.is_null()).then(bad)
    else:
        reason = pl.when(~empty & value.is_null()).then(bad)
    return value, reason


def code_value(df: pl.DataFrame, name: str, allowed: dict[str, int]) -> tuple[pl.Expr, pl.Expr]:
    """A coded column (med_type, hosp_lv, flags) mapped through `allowed`, with reasons."""
    col = pl.col(name).cast(pl.String).str.strip_chars()
    col = col.str.replace(r"\.0$", "")  # 21.0 from a spreadsheet is 21
    value = col.replace_strict(allowed, default=None, return_dtype=pl.Int16)
    reason = (
        pl.when(col.is_null() | (col == ""))
        .then(pl.lit(f"{name}: missing"))
        .when(value.is_null())
        .then(pl.concat_str(pl.lit(f"{name}: unknown {name} "), _quote(pl.col(name))))
    )
    return value, reason


def text_value(name: str) -> tuple[pl.Expr, pl.Expr]:
    col = pl.col(name).cast(pl.String).str.strip_chars()
    return col, pl.when(col.is_null() | (col == "")).then(pl.lit(f"{name}: missing"))


def join_reasons(reasons: list[pl.Expr]) -> pl.Expr:
    """All of a row's reasons joined with '; ', or null for a good row."""
    joined = pl.concat_str([r for r in reasons], separator="; ", ignore_nulls=True)
    return pl.when(joined == "").then(None).otherwise(joined)
