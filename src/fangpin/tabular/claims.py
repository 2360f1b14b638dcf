"""Claims and identities files (RULES §1, §3): validated into exact columns, rejects kept.

A validated claims frame has: row, setl_id, psn_no, setl_date (Date), med_type (Int16 code),
kind (0 outpatient, 1 chronic, 2 inpatient), hosp_lv, in_province, referral, the four amounts
and inscp_scp_amt in integer fen. A rejects frame has: file, row, id, reason.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fangpin.engine.radix import repeated_values
from fangpin.policy.groups import GROUP_BIT, IDENTITIES
from fangpin.tabular.io import TableError, first_data_row, read_table, scan_table, table_format
from fangpin.tabular.pqjoin import SourceText
from fangpin.tabular.values import (
    Check,
    amount_fen,
    any_bad,
    code_value,
    date_value,
    join_reasons,
    text_value,
)

CLAIM_COLUMNS = (
    "setl_id",
    "psn_no",
    "setl_date",
    "med_type",
    "hosp_lv",
    "in_province",
    "referral",
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
)
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
IDENTITY_COLUMNS = ("psn_no", "psn_idet_type", "begndate", "enddate")
# Columns a settled row carries as the claims file gave them: from a Parquet file whose rows all
# settle, the output copies their pages (tabular.output.write_settled).
COPYABLE = ("setl_id", "psn_no")

# med_type codes; 23, 24 and 52 are settled as inpatient 21 (RULES §3).
MED_TYPES = {"11": 11, "14": 14, "21": 21, "23": 23, "24": 24, "52": 52}
HOSP_LEVEL = {"1": 1, "2": 2, "3": 3, "4": 4}
FLAG = {
    "1": 1,
    "0": 0,
    "true": 1,
    "false": 0,
    "True": 1,
    "False": 0,
    "是": 1,
    "否": 0,
    "Y": 1,
    "N": 0,
    "y": 1,
    "n": 0,
}
REJECT_SCHEMA = {"file": pl.String, "row": pl.Int64, "id": pl.String, "reason": pl.String}
# The validated frames' columns and types (a test holds validate_claims/validate_identities to
# them); frames the engine takes from elsewhere (the ledger, Spark) are built to the same.
CLAIM_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32,
    "setl_id": pl.String,
    "psn_no": pl.String,
    "setl_date": pl.Date,
    "med_type": pl.Int16,
    "hosp_lv": pl.Int16,
    "in_province": pl.Int16,
    "referral": pl.Int16,
    "medfee_sumamt": pl.Int64,
    "fulamt_ownpay_amt": pl.Int64,
    "overlmt_selfpay": pl.Int64,
    "preselfpay_amt": pl.Int64,
    "kind": pl.Int8,
    "inscp_scp_amt": pl.Int64,
}
IDENTITY_SCHEMA: dict[str, pl.DataType] = {
    "row": pl.UInt32,
    "psn_no": pl.String,
    "psn_idet_type": pl.String,
    "group_bit": pl.Int64,
    "begndate": pl.Date,
    "enddate": pl.Date,
}


@dataclass
class Validated:
    good: pl.DataFrame
    rejects: pl.DataFrame
    # A Parquet file all of whose rows are good (in its order, COPYABLE unchanged): its text
    # columns' pages, for the output to copy.
    source: SourceText | None = None


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


Frame = pl.DataFrame | pl.LazyFrame  # a lazy frame: a Parquet file read as the checks need it


def _require(df: Frame, columns: tuple[str, ...], file: str) -> None:
    names = df.collect_schema().names()
    for c in columns:
        if c not in names:
            raise TableError(
                file, f"missing column (the file has: {', '.join(names) or 'none'})", c
            )


def _eager(df: Frame) -> pl.DataFrame:
    return df.collect() if isinstance(df, pl.LazyFrame) else df


def _rejects(bad: pl.DataFrame, key: str, file: str, reason: pl.Expr) -> pl.DataFrame:
    return bad.select(
        pl.lit(Path(file).name).alias("file"),
        pl.col("row").cast(pl.Int64),
        pl.col(key).cast(pl.String).str.strip_chars().alias("id"),
        reason.alias("reason"),
    )


def _check_rows(
    df: Frame, checks: dict[str, Check], key: str, file: str
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse every column; rows with any bad value become rejects with all their reasons."""
    values = [c.value.alias(n) for n, c in checks.items()]
    if all(c.total for c in checks.values()):
        # One pass computes the values and the verdict, sharing what they have in common.
        out = (
            df.lazy().select("row", *values, any_bad(list(checks.values())).alias("_bad")).collect()
        )
        bad = out["_bad"]
        if not bad.any():  # the usual case: no row to copy out
            return out.drop("_bad"), empty_rejects()
        good = out.filter(~bad).drop("_bad")
        df = _eager(df)  # read again, for the few bad rows' original values
    else:
        df = _eager(df)
        bad = df.select(any_bad(list(checks.values()))).to_series()
        if not bad.any():
            return df.select("row", *values), empty_rejects()
        good = df.filter(~bad).select("row", *values)
    return good, _rejects(df.filter(bad), key, file, join_reasons(list(checks.values())))


def _duplicates(ids: pl.Series) -> pl.Series:
    """True for every row whose id was seen on an earlier row.

    Hashes find the few candidate ids cheaply (repeated_values); the text decides among them.
    """
    h = ids.hash(seed=7).to_numpy()
    clash = repeated_values(h.view(np.int64))
    later = pl.Series(np.zeros(len(ids), dtype=bool))
    if len(clash) == 0:
        return later
    idx = np.flatnonzero(np.isin(h.view(np.int64), clash))
    seen_before = ~ids.gather(idx).is_first_distinct()
    return later.scatter(idx[seen_before.to_numpy()], True)


def validate_claims(
    raw: Frame, file: str = "claims", row0: int = 2, *, strip: bool = True
) -> Validated:
    """Check every claim row; good rows get exact columns, bad rows a reason naming the field.

    `strip` trims spaces around ids (files people typed); machine-written Parquet skips it.
    """
    _require(raw, CLAIM_COLUMNS, file)
    df = raw.select(CLAIM_COLUMNS).with_row_index("row", offset=row0)
    checks = {
        "setl_id": text_value("setl_id", strip=strip),
        "psn_no": text_value("psn_no", strip=strip),
        "setl_date": date_value(df, "setl_date"),
        "med_type": code_value(df, "med_type", MED_TYPES),
        "hosp_lv": code_value(df, "hosp_lv", HOSP_LEVEL),
        "in_province": code_value(df, "in_province", FLAG),
        "referral": code_value(df, "referral", FLAG),
        **{name: amount_fen(df, name) for name in AMOUNTS},
    }
    good, rejects = _check_rows(df, checks, "setl_id", file)
    med = pl.col("med_type")
    good = good.with_columns(
        pl.when(med == 11)
        .then(pl.lit(0, pl.Int8))
        .when(med == 14)
        .then(pl.lit(1, pl.Int8))
        .otherwise(pl.lit(2, pl.Int8))
        .alias("kind"),
        (
            pl.col("medfee_sumamt")
            - pl.col("fulamt_ownpay_amt")
            - pl.col("overlmt_selfpay")
            - pl.col("preselfpay_amt")
        ).alias("inscp_scp_amt"),
    )
    # Policy scope below zero: the self-pay parts add up to more than the total.
    negative = good["inscp_scp_amt"] < 0
    scope = None
    if negative.any():
        scope = _rejects(
            good.filter(negative),
            "setl_id",
            file,
            pl.format(
                "inscp_scp_amt: policy-scope amount is negative (medfee_sumamt {} − fulamt_ownpay_amt {} − overlmt_selfpay {} − preselfpay_amt {} fen)",
                "medfee_sumamt",
                "fulamt_ownpay_amt",
                "overlmt_selfpay",
                "preselfpay_amt",
            ),
        )
        good = good.filter(~negative)
    # A setl_id seen again: the first good row settles, the others are rejected naming it.
    again = _duplicates(good["setl_id"])
    dup_rejects = None
    if again.any():
        dups = good.filter(again)
        firsts = good.filter(~again & pl.col("setl_id").is_in(dups["setl_id"].implode())).select(
            "setl_id", pl.col("row").alias("_first")
        )
        dup_rejects = _rejects(
            dups.join(firsts, on="setl_id", how="left"),
            "setl_id",
            file,
            pl.format("setl_id: duplicate of row {}", "_first"),
        )
        good = good.filter(~again)
    parts = [r for r in (rejects, scope, dup_rejects) if r is not None and r.height]
    all_rejects = pl.concat(parts).sort("row") if parts else empty_rejects()
    return Validated(good, all_rejects)


def validate_identities(raw: Frame, file: str = "identities", row0: int = 2) -> Validated:
    """Identity rows: person, a known identity name, begin date, optional end date ≥ begin."""
    _require(raw, IDENTITY_COLUMNS, file)
    df = raw.select(IDENTITY_COLUMNS).with_row_index("row", offset=row0)
    ident = pl.col("psn_idet_type").cast(pl.String).str.strip_chars()
    bits = {name: GROUP_BIT[group] for name, (group, _dept) in IDENTITIES.items()}
    bit = ident.replace_strict(bits, default=None, return_dtype=pl.Int64)
    blank = ident.is_null() | (ident == "")
    checks = {
        "psn_no": text_value("psn_no"),
        "psn_idet_type": Check(ident, blank, pl.lit("psn_idet_type: missing")),
        "group_bit": Check(
            bit, ~blank & bit.is_null(), pl.format("psn_idet_type: unknown identity '{}'", ident)
        ),
        "begndate": date_value(df, "begndate"),
        "enddate": date_value(df, "enddate", required=False),
    }
    good, rejects = _check_rows(df, checks, "psn_no", file)
    backwards = pl.col("enddate").is_not_null() & (pl.col("enddate") < pl.col("begndate"))
    order = _rejects(
        good.filter(backwards),
        "psn_no",
        file,
        pl.format("enddate: {} is before begndate {}", "enddate", "begndate"),
    )
    return Validated(good.filter(~backwards), pl.concat([rejects, order]).sort("row"))


def read_claims(path: str | Path) -> Validated:
    """A claims file; Parquet is scanned, so its amounts go from the file's INT64 decimals
    straight to fen without a 128-bit copy between."""
    raw = scan_table(path)
    parquet = table_format(path) == ".parquet"
    with ThreadPoolExecutor(max_workers=1) as pool:
        # The file's footer is read (in Python) while Polars reads its rows; its size and time
        # are taken before them, so a file changed meanwhile is never copied from.
        source = None
        if parquet:
            st = os.stat(path)
            source = pool.submit(SourceText, path, COPYABLE, (st.st_size, st.st_mtime_ns))
        try:
            v = validate_claims(raw, str(path), first_data_row(path), strip=not parquet)
        except (pl.exceptions.ComputeError, OSError) as exc:
            if isinstance(raw, pl.DataFrame):
                raise
            raise TableError(path, f"cannot be read: {exc}") from None
        if source is not None and source.result().usable and v.rejects.height == 0:
            v.source = source.result()
    return v


def read_identities(path: str | Path) -> Validated:
    return validate_identities(read_table(path), str(path), first_data_row(path))


def read_inputs(claims: str | Path, identities: str | Path) -> tuple[Validated, Validated]:
    """read_claims and read_identities side by side: the identities are read on a thread while
    the claims are (Polars works outside Python's lock), filling the gaps between the claims'
    stages that leave a core idle. Errors are raised as the two calls would raise them."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        ids = pool.submit(read_identities, identities)
        try:
            c = read_claims(claims)
        except BaseException:
            ids.cancel()
            raise
        return c, ids.result()
