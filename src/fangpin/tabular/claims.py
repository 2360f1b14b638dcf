"""Claims and identities files (RULES §1, §3): validated into exact columns, rejects kept.

A validated claims frame has: row, setl_id, psn_no, setl_date (Date), med_type (11/14/21 as
given), kind (0 outpatient, 1 chronic, 2 inpatient), hosp_lv, in_province, referral and the
four amounts plus inscp_scp_amt in integer fen. A rejects frame has: file, row, id, reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fangpin.policy.groups import GROUP_BIT, IDENTITIES
from fangpin.tabular.io import TableError, first_data_row, read_table
from fangpin.tabular.values import amount_fen, code_value, date_value, join_reasons, text_value

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


def _split(df: pl.DataFrame, reason: pl.Expr, key: str, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Rows with a reason become rejects (file, row, id, reason); the rest are returned good."""
    df = df.with_columns(reason.alias("_reason"))
    bad = df.filter(pl.col("_reason").is_not_null())
    rejects = bad.select(
        pl.lit(Path(file).name).alias("file"),
        (pl.col("row").cast(pl.Int64)).alias("row"),
        pl.col(key).cast(pl.String).alias("id"),
        pl.col("_reason").alias("reason"),
    )
    return df.filter(pl.col("_reason").is_null()).drop("_reason"), rejects


def validate_claims(raw: pl.DataFrame, file: str = "claims", row0: int = 2) -> Validated:
    """Check every claim row; good rows get exact columns, bad rows a reason naming the field."""
    _require(raw, CLAIM_COLUMNS, file)
    df = raw.select(CLAIM_COLUMNS).with_row_index("row", offset=row0)
    exprs, reasons = {}, []
    for name in ("setl_id", "psn_no"):
        exprs[name], r = text_value(name)
        reasons.append(r)
    exprs["setl_date"], r = date_value(df, "setl_date")
    reasons.append(r)
    exprs["kind"], r = code_value(df, "med_type", MED_KIND)
    reasons.append(r)
    exprs["hosp_lv"], r = code_value(df, "hosp_lv", HOSP_LEVEL)
    reasons.append(r)
    for name in ("in_province", "referral"):
        exprs[name], r = code_value(df, name, FLAG)
        reasons.append(r)
    for name in AMOUNTS:
        exprs[name], r = amount_fen(df, name)
        reasons.append(r)
    inscp = pl.col("medfee_sumamt") - pl.col("fulamt_ownpay_amt") - pl.col("overlmt_selfpay") - pl.col("preselfpay_amt")
    parsed = df.select(
        "row",
        *(e.alias(n) for n, e in exprs.items()),
        pl.col("med_type").cast(pl.String).str.strip_chars().str.replace(r"\.0$", "").alias("med_type"),
        join_reasons(reasons).alias("_r0"),
    ).with_columns(inscp.alias("inscp_scp_amt"))
    scope = pl.when(pl.col("_r0").is_null() & (pl.col("inscp_scp_amt") < 0)).then(
        pl.format(
            "inscp_scp_amt: policy-scope amount is negative (medfee_sumamt {} − fulamt_ownpay_amt {} − overlmt_selfpay {} − preselfpay_amt {} fen)",
            "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
        )
    )
    parsed = parsed.with_columns(pl.coalesce("_r0", scope).alias("_r1"))
    # Duplicates are judged among rows that are otherwise good, so the first good copy settles.
    first_ok = parsed.filter(pl.col("_r1").is_null()).group_by("setl_id").agg(pl.col("row").min().alias("_first"))
    dup = pl.when(pl.col("_r1").is_null() & (pl.col("row") != pl.col("_first"))).then(
        pl.format("setl_id: duplicate of row {}", "_first")
    )
    parsed = parsed.join(first_ok, on="setl_id", how="left", maintain_order="left").with_columns(pl.coalesce("_r1", dup).alias("_reason"))
    good, rejects = _split(parsed.drop("_r0", "_r1", "_first"), pl.col("_reason"), "setl_id", file)
    return Validated(good, rejects)


def validate_identities(raw: pl.DataFrame, file: str = "identities", row0: int = 2) -> Validated:
    """Identity rows: person, a known identity name, begin date, optional end date ≥ begin."""
    _require(raw, IDENTITY_COLUMNS, file)
    df = raw.select(IDENTITY_COLUMNS).with_row_index("row", offset=row0)
    psn, r_psn = text_value("psn_no")
    ident = pl.col("psn_idet_type").cast(pl.String).str.strip_chars()
    bits = {name: GROUP_BIT[group] for name, (group, _dept) in IDENTITIES.items()}
    bit = ident.replace_strict(bits, default=None, return_dtype=pl.Int64)
    r_ident = (
        pl.when(ident.is_null() | (ident == ""))
        .then(pl.lit("psn_idet_type: missing"))
        .when(bit.is_null())
        .then(pl.format("psn_idet_type: unknown identity '{}'", ident))
    )
    beg, r_beg = date_value(df, "begndate")
    end, r_end = date_value(df, "enddate", required=False)
    parsed = df.select(
        "row", psn.alias("psn_no"), ident.alias("psn_idet_type"), bit.alias("group_bit"),
        beg.alias("begndate"), end.alias("enddate"), join_reasons([r_psn, r_ident, r_beg, r_end]).alias("_r0"),
    )
    order = pl.when(pl.col("_r0").is_null() & pl.col("enddate").is_not_null() & (pl.col("enddate") < pl.col("begndate"))).then(
        pl.format("enddate: {} is before begndate {}", "enddate", "begndate")
    )
    reason = pl.coalesce(pl.col("_r0"), order)
    good, rejects = _split(parsed, reason, "psn_no", file)
    return Validated(good.drop("_r0"), rejects)


def read_claims(path: str | Path) -> Validated:
    return validate_claims(read_table(path), str(path), first_data_row(path))


def read_identities(path: str | Path) -> Validated:
    return validate_identities(read_table(path), str(path), first_data_row(path))
