"""Vectorised parsing of amounts, dates, codes into exact values, with per-row reasons.

Each parser returns a `Check`: the parsed value, a cheap boolean `bad`, and the text `reason`
naming the field and the bad value. Reasons are only built for the few rows that are bad, so
validating millions of good rows costs no string formatting.
"""

from __future__ import annotations

from typing import NamedTuple

import polars as pl

_YUAN = r"^-?\d{1,13}(\.\d{0,2})?$"


class Check(NamedTuple):
    value: pl.Expr
    bad: pl.Expr
    reason: pl.Expr
    total: bool = True  # `value` can be evaluated on every row, bad ones too, without an error


def _dtype(df: pl.DataFrame | pl.LazyFrame, name: str) -> pl.DataType:
    return df.collect_schema()[name]


def _quote(col: pl.Expr) -> pl.Expr:
    return pl.concat_str(pl.lit("'"), col.cast(pl.String).fill_null(""), pl.lit("'"))


def _blank(col: pl.Expr) -> pl.Expr:
    return col.is_null() | (col.cast(pl.String).str.strip_chars() == "")


def amount_fen(df: pl.DataFrame | pl.LazyFrame, name: str) -> Check:
    """A yuan column (text, integer, decimal or float) as integer fen."""
    dtype = _dtype(df, name)
    col = pl.col(name)
    if dtype == pl.String:
        s = col.str.strip_chars().str.replace_all(",", "", literal=True)
        ok = s.str.contains(_YUAN)
        whole = s.str.extract(r"^-?(\d+)", 1).cast(pl.Int64, strict=False)  # null on bad rows only
        frac = s.str.extract(r"\.(\d{1,2})$", 1).str.pad_end(2, "0").cast(pl.Int64).fill_null(0)
        sign = pl.when(s.str.starts_with("-")).then(-1).otherwise(1)
        fen = pl.when(ok).then(sign * (whole * 100 + frac))
        unparsed = ~ok.fill_null(False)
        why = (
            pl.when(_blank(col))
            .then(pl.lit(f"{name}: missing"))
            .when(s.str.contains(r"^-?\d+\.\d{3,}$"))
            .then(pl.concat_str(pl.lit(f"{name}: more than 2 decimals "), _quote(col)))
            .otherwise(pl.concat_str(pl.lit(f"{name}: not a number "), _quote(col)))
        )
    elif isinstance(dtype, pl.Decimal) and dtype.scale == 2:
        # Two decimals by its type (Parquet from a machine): the unscaled integer is the fen.
        fen = col.to_physical().cast(pl.Int64, strict=False)
        unparsed = fen.is_null()
        why = (
            pl.when(col.is_null())
            .then(pl.lit(f"{name}: missing"))
            .otherwise(pl.concat_str(pl.lit(f"{name}: amount out of range "), _quote(col)))
        )
    elif isinstance(dtype, pl.Decimal):
        exact = col.cast(pl.Decimal(38, 2))
        fen = exact.to_physical().cast(pl.Int64)
        unparsed = col.is_null() | (exact != col).fill_null(False)
        why = (
            pl.when(col.is_null())
            .then(pl.lit(f"{name}: missing"))
            .otherwise(pl.concat_str(pl.lit(f"{name}: more than 2 decimals "), _quote(col)))
        )
    elif dtype.is_integer():
        fen = col.cast(pl.Int64) * 100
        unparsed = col.is_null()
        why = pl.lit(f"{name}: missing")
    elif dtype.is_float():
        # Binary floats cannot hold most fen exactly; accept them only when they round cleanly.
        scaled = col * 100
        fen = scaled.round(0).cast(pl.Int64)
        unparsed = col.is_null() | col.is_nan() | ((scaled - scaled.round(0)).abs() > 1e-6)
        why = (
            pl.when(col.is_null() | col.is_nan())
            .then(pl.lit(f"{name}: missing"))
            .otherwise(pl.concat_str(pl.lit(f"{name}: more than 2 decimals "), _quote(col)))
        )
    else:
        fen = pl.lit(None, pl.Int64)
        unparsed = pl.lit(True)
        why = pl.lit(f"{name}: not an amount column ({dtype})")
    negative = (fen < 0).fill_null(False)
    bad = unparsed | negative
    reason = (
        pl.when(unparsed)
        .then(why)
        .when(negative)
        .then(pl.concat_str(pl.lit(f"{name}: negative amount "), _quote(col)))
    )
    # Casting a float or a decimal of other scale may fail on a row that is bad anyway.
    total = (
        dtype == pl.String
        or dtype.is_integer()
        or (isinstance(dtype, pl.Decimal) and dtype.scale == 2)
    )
    return Check(fen, bad, reason, total)


def date_value(df: pl.DataFrame | pl.LazyFrame, name: str, *, required: bool = True) -> Check:
    """A date column: ISO, YYYYMMDD or YYYY/MM/DD (time of day ignored)."""
    dtype = _dtype(df, name)
    col = pl.col(name)
    if dtype == pl.Date:
        value = col
    elif isinstance(dtype, pl.Datetime):
        value = col.dt.date()
    else:
        s = col.cast(pl.String).str.strip_chars().str.replace_all("/", "-", literal=True)
        s = s.str.slice(0, 10).str.strip_chars()
        iso = s.str.to_date("%Y-%m-%d", strict=False)
        compact = s.str.to_date("%Y%m%d", strict=False)
        value = pl.coalesce(iso, pl.when(s.str.len_chars() == 8).then(compact))
    blank = col.is_null() if dtype == pl.Date else _blank(col)
    invalid = ~blank & value.is_null()
    bad = (blank | invalid) if required else invalid
    reason = (
        pl.when(blank)
        .then(pl.lit(f"{name}: missing"))
        .otherwise(pl.concat_str(pl.lit(f"{name}: not a valid date "), _quote(col)))
    )
    return Check(value, bad, reason)


def code_value(df: pl.DataFrame | pl.LazyFrame, name: str, allowed: dict[str, int]) -> Check:
    """A coded column (med_type, hosp_lv, flags) mapped through `allowed`."""
    dtype = _dtype(df, name)
    if dtype.is_integer():
        # A chain of comparisons: far cheaper than a hash lookup for a handful of codes.
        ints = [(int(k), v) for k, v in allowed.items() if k.lstrip("-").isdigit()]
        col = pl.col(name)
        chain = pl.when(col == ints[0][0]).then(pl.lit(ints[0][1], pl.Int16))
        for key, v in ints[1:]:
            chain = chain.when(col == key).then(pl.lit(v, pl.Int16))
        value = chain.otherwise(pl.lit(None, pl.Int16))
    else:
        col = pl.col(name).cast(pl.String).str.strip_chars().str.replace(r"\.0$", "")  # 21.0 is 21
        value = col.replace_strict(allowed, default=None, return_dtype=pl.Int16)
    blank = _blank(pl.col(name))
    reason = (
        pl.when(blank)
        .then(pl.lit(f"{name}: missing"))
        .otherwise(pl.concat_str(pl.lit(f"{name}: unknown {name} "), _quote(pl.col(name))))
    )
    return Check(value, value.is_null(), reason)


def text_value(name: str, *, strip: bool = True) -> Check:
    col = pl.col(name).cast(pl.String)
    if strip:
        col = col.str.strip_chars()
    bad = col.is_null() | (col == "")
    return Check(col, bad, pl.lit(f"{name}: missing"))


def any_bad(checks: list[Check]) -> pl.Expr:
    return pl.any_horizontal([c.bad for c in checks])


def join_reasons(checks: list[Check]) -> pl.Expr:
    """All of a row's reasons joined with '; ' (evaluate on bad rows only)."""
    parts = [pl.when(c.bad).then(c.reason) for c in checks]
    return pl.concat_str(parts, separator="; ", ignore_nulls=True)
