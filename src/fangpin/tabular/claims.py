"""Claims and identities files (RULES §1, §3): validated into exact columns, rejects kept.

A validated claims frame has: row, setl_id, psn_no, setl_date (Date), med_type (as given),
kind (0 outpatient, 1 chronic, 2 inpatient), hosp_lv, in_province, referral, the four amounts
and inscp_scp_amt in integer fen. A rejects frame has: file, row, id, reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fangpin.policy.groups import GROUP_BIT, IDENTITIES
from fangpin.tabular.io import TableError, first_data_row, read_table
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
    "setl_id", "psn_no", "setl_date", "med_type", "hosp_lv", "in_province", "referral",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
)
AMOUNTS = ("medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt")
IDENTITY_COLUMNS = ("psn_no", "psn_idet_type", "begndate", "enddate")

# med_type -> kind; 23, 24 and 52 are settled as inpatient (RULES §3).
MED_KIND = {"11": 0, "14": 1, "21": 2, "23": 2, "24": 2, "52": 2}
HOSP_LEVEL = {"1": 1, "2": 2, "3": 3, "4": 4}
FLAG = {"1": 1, "0": 0, "true": 1, "false": 0, "True": 1, "False": 0, "是": 1, "否": 0, "Y": 1, "N": 0, "y": 1, "n": 0}
REJECT_SCHEMA = {"file": pl.String, "row": pl.Int64, "id": pl.String, "reason": pl.String}


@dataclass
class Validated:
    good: pl.DataFrame
    rejects: pl.DataFrame


def empty_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def _require(df: pl.DataFrame, columns: tuple[str, ...], file: str) -> None:
    for c in columns:
        if c not in df.columns:
            raise TableError(file, f"missing column (the file has: {', '.join(df.columns) or 'none'})", c)


def _rejects(bad: pl.DataFrame, key: str, file: str, reason: pl.Expr) -> pl.DataFrame:
    return bad.select(
        pl.lit(Path(file).name).alias("file"),
        pl.col("row").cast(pl.Int64),
        pl.col(key).cast(pl.String).str.strip_chars().alias("id"),
        reason.alias("reason"),
    )


def _check_rows(df: pl.DataFrame, checks: dict[str, Check], key: str, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Parse every column; rows with any bad value become rejects with all their reasons."""
    flagged = df.with_columns(any_bad(list(checks.values())).alias("_bad"))
    rejects = _rejects(flagged.filter("_bad"), key, file, join_reasons(list(checks.values())))
    good = flagged.filter(~pl.col("_bad")).select("row", *(c.value.alias(n) for n, c in checks.items()))
    return good, rejects


def validate_claims(raw: pl.DataFrame, file: str = "claims", row0: int = 2) -> Validated:
    """Check every claim row; good rows get exact columns, bad rows a reason naming the field."""
    _require(raw, CLAIM_COLUMNS, file)
    df = raw.select(CLAIM_COLUMNS).with_row_index("row", offset=row0)
    checks = {
        "setl_id": text_value("setl_id"),
        "psn_no": text_value("psn_no"),
        "setl_date": date_value(df, "setl_date"),
        "kind": code_value(df, "med_type", MED_KIND),
        "hosp_lv": code_value(df, "hosp_lv", HOSP_LEVEL),
        "in_province": code_value(df, "in_province", FLAG),
        "referral": code_value(df, "referral", FLAG),
        **{name: amount_fen(df, name) for name in AMOUNTS},
        "med_type": Check(pl.col("med_type").cast(pl.String).str.strip_chars().str.replace(r"\.0$", ""), pl.lit(False), pl.lit(None)),
    }
    good, rejects = _check_rows(df, checks, "setl_id", file)
    good = good.with_columns(
        (pl.col("medfee_sumamt") - pl.col("fulamt_ownpay_amt") - pl.col("overlmt_selfpay") - pl.col("preselfpay_amt")).alias("inscp_scp_amt")
    )
    # Policy scope below zero: the self-pay parts add up to more than the total.
    negative = good.filter(pl.col("inscp_scp_amt") < 0)
    scope = _rejects(negative, "setl_id", file, pl.format(
        "inscp_scp_amt: policy-scope amount is negative (medfee_sumamt {} − fulamt_ownpay_amt {} − overlmt_selfpay {} − preselfpay_amt {} fen)",
        "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
    ))
    good = good.filter(pl.col("inscp_scp_amt") >= 0)
    # A setl_id seen again: the first good row settles, the others are rejected naming it.
    first = pl.col("setl_id").is_first_distinct()
    dups = good.filter(~first)
    if dups.height:
        firsts = good.filter(first).select("setl_id", pl.col("row").alias("_first"))
        dups = dups.join(firsts, on="setl_id", how="left")
        good = good.filter(first)
    dup_rejects = _rejects(dups, "setl_id", file, pl.format("setl_id: duplicate of row {}", "_first")) if dups.height else None
    all_rejects = pl.concat([r for r in (rejects, scope, dup_rejects) if r is not None]).sort("row")
    return Validated(good, all_rejects)


def validate_identities(raw: pl.DataFrame, file: str = "identities", row0: int = 2) -> Validated:
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
        "group_bit": Check(bit, ~blank & bit.is_null(), pl.format("psn_idet_type: unknown identity '{}'", ident)),
        "begndate": date_value(df, "begndate"),
        "enddate": date_value(df, "enddate", required=False),
    }
    good, rejects = _check_rows(df, checks, "psn_no", file)
    backwards = pl.col("enddate").is_not_null() & (pl.col("enddate") < pl.col("begndate"))
    order = _rejects(good.filter(backwards), "psn_no", file, pl.format("enddate: {} is before begndate {}", "enddate", "begndate"))
    return Validated(good.filter(~backwards), pl.concat([rejects, order]).sort("row"))


def read_claims(path: str | Path) -> Validated:
    return validate_claims(read_table(path), str(path), first_data_row(path))


def read_identities(path: str | Path) -> Validated:
    return validate_identities(read_table(path), str(path), first_data_row(path))
