"""From ledger rows to the engine's frames and back, and what a claim adds to its person-year.

The engine takes the validated frames of `fangpin.tabular.claims`; the online API and the
monthly batch build the same frames from database rows here (validating a file would cost
milliseconds a claim for nothing: the API's schema has checked every field already). A test
pins these schemas to `validate_claims`/`validate_identities` output.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import polars as pl

from fangpin.engine import kernel as k
from fangpin.engine.params import EPOCH
from fangpin.engine.settle import Accumulators, compiled
from fangpin.policy.groups import GROUP_BIT
from fangpin.policy.registry import Pack
from fangpin.tabular.claims import CLAIM_SCHEMA, IDENTITY_SCHEMA


def kind_of(med_type: int) -> int:
    """RULES §3: 11 general outpatient, 14 chronic, everything else (21, 23, 24, 52) inpatient."""
    return k.OUTPATIENT if med_type == 11 else k.CHRONIC if med_type == 14 else k.INPATIENT


def claim_frame(claims: Iterable[Mapping[str, Any]]) -> pl.DataFrame:
    """Claims (dicts or objects' __dict__ with the model's field names, amounts in fen) as the
    engine's validated claims frame. The frame's psn_no is the person key: the engine groups a
    person's year by it."""
    cols: dict[str, list] = {name: [] for name in CLAIM_SCHEMA}
    for i, c in enumerate(claims):
        cols["row"].append(i)
        cols["setl_id"].append(c["setl_id"])
        cols["psn_no"].append(c["person_key"])
        cols["setl_date"].append(c["setl_date"])
        cols["med_type"].append(c["med_type"])
        cols["hosp_lv"].append(c["hosp_lv"])
        cols["in_province"].append(int(c["in_province"]))
        cols["referral"].append(int(c["referral"]))
        for name in (
            "medfee_sumamt",
            "fulamt_ownpay_amt",
            "overlmt_selfpay",
            "preselfpay_amt",
            "inscp_scp_amt",
        ):
            cols[name].append(c[name])
        cols["kind"].append(kind_of(c["med_type"]))
    return pl.DataFrame(cols, schema=CLAIM_SCHEMA)


def identity_frame(rows: Iterable[tuple[str, str, str, dt.date, dt.date | None]]) -> pl.DataFrame:
    """(person key, identity name, group, begin, end) rows as the engine's identities frame.

    An identity whose group the rules do not know carries no bit and is left out, as the file
    validation would reject it.
    """
    cols: dict[str, list] = {name: [] for name in IDENTITY_SCHEMA}
    for key, name, group, begin, end in rows:
        bit = GROUP_BIT.get(group)
        if bit is None:
            continue
        cols["row"].append(len(cols["row"]))
        cols["psn_no"].append(key)
        cols["psn_idet_type"].append(name)
        cols["group_bit"].append(bit)
        cols["begndate"].append(begin)
        cols["enddate"].append(end)
    return pl.DataFrame(cols, schema=IDENTITY_SCHEMA)


def identity_table(rows: pl.DataFrame) -> pl.DataFrame:
    """Identities as a frame (person_key, name, group, begin, end) as the engine's identities
    frame: what `identity_frame` builds row by row, built in columns (unknown groups left out)."""
    bit = pl.col("group").replace_strict(GROUP_BIT, default=None, return_dtype=pl.Int64)
    known = rows.with_columns(bit.alias("group_bit")).drop_nulls("group_bit")
    return known.select(
        pl.int_range(known.height, dtype=pl.UInt32).alias("row"),
        pl.col("person_key").alias("psn_no"),
        pl.col("name").alias("psn_idet_type"),
        "group_bit",
        pl.col("begin").alias("begndate"),
        pl.col("end").alias("enddate"),
    ).cast(IDENTITY_SCHEMA)


def active_identities(
    rows: Iterable[tuple[str, str, str, dt.date, dt.date | None]], date: dt.date
) -> tuple[int, list[str]]:
    """The group bits and identity names active on `date` (RULES §1)."""
    mask, names = 0, set()
    for _key, name, group, begin, end in rows:
        if begin <= date and (end is None or date <= end) and group in GROUP_BIT:
            mask |= GROUP_BIT[group]
            names.add(name)
    return mask, sorted(names)


def reassist_counts(pack: Pack, date: dt.date, in_province: bool, referral: bool) -> bool:
    """Whether a claim's remaining base counts toward tier 4 (the pack's conditions, seed 002).
    Mirrors the kernel: with no conditions every 14/21 claim counts."""
    comp = compiled(pack)
    v = int(comp.version_of(np.array([(date - EPOCH).days]))[0])
    need_prov = comp.basic[v, k.B_T4_INPROV] != 0
    need_ref = comp.basic[v, k.B_T4_REFERRAL] != 0
    return (not need_prov or bool(in_province)) and (not need_ref or bool(referral))


def contribution(pack: Pack, claim: Mapping[str, Any], amounts: Mapping[str, int]) -> np.ndarray:
    """What one claim with these tier amounts adds to its person-year's accumulators.

    Every accumulator is a sum over the year's claims (kernel.settle_range), so the year's row
    is the sum of its claims' contributions: that is what makes a cancellation an exact
    subtraction and the stored row checkable against the claims.
    """
    out = np.zeros(k.N_ACC, dtype=np.int64)
    hifp = amounts["hifp_pay"]
    if kind_of(claim["med_type"]) == k.OUTPATIENT:
        out[k.ACC_PAID11] = hifp
        return out
    inscp = claim["inscp_scp_amt"]
    hifmi, maf = amounts["hifmi_pay"], amounts["maf_pay"]
    out[k.ACC_PAID1] = hifp
    out[k.ACC_CUM2] = inscp - hifp
    out[k.ACC_PAID2] = hifmi
    out[k.ACC_CUM3] = inscp - hifp - hifmi
    out[k.ACC_PAID3] = maf
    if reassist_counts(pack, claim["setl_date"], claim["in_province"], claim["referral"]):
        out[k.ACC_CUM4] = inscp - hifp - hifmi - maf
    out[k.ACC_PAID4] = amounts["oth_pay"]
    return out


def acc_list(acc: Accumulators) -> list[int]:
    return [int(x) for x in acc.as_array()]


def acc_from(values: Iterable[int]) -> Accumulators:
    return Accumulators.from_array(np.asarray(list(values), dtype=np.int64))


def amounts_of(row: Mapping[str, Any]) -> dict[str, int]:
    """The result amounts of a settled engine row (fen)."""
    return {name: int(row[name]) for name in k.OUT_COLUMNS[:-1]}


def engine_claims(table: pl.DataFrame) -> pl.DataFrame:
    """A frame of ledger claims (`claims.bulk.CLAIM_COLUMNS`) as the engine's claims frame, in
    the same row order: what `claim_frame` builds row by row, built in columns."""
    med = pl.col("med_type")
    kind = (
        pl.when(med == 11)
        .then(pl.lit(k.OUTPATIENT))
        .when(med == 14)
        .then(pl.lit(k.CHRONIC))
        .otherwise(pl.lit(k.INPATIENT))
    )
    return table.select(
        pl.int_range(table.height, dtype=pl.UInt32).alias("row"),
        "setl_id",
        pl.col("person_key").alias("psn_no"),
        "setl_date",
        "med_type",
        "hosp_lv",
        "in_province",
        "referral",
        "medfee_sumamt",
        "fulamt_ownpay_amt",
        "overlmt_selfpay",
        "preselfpay_amt",
        kind.alias("kind"),
        "inscp_scp_amt",
    ).cast(CLAIM_SCHEMA)


def contributions(pack: Pack, table: pl.DataFrame, amounts: pl.DataFrame) -> np.ndarray:
    """`contribution` for every row at once: rows of `table` (med_type, setl_date, in_province,
    referral, inscp_scp_amt) with the tier amounts in the same rows of `amounts`; one row of
    N_ACC values per claim."""
    n = table.height
    out = np.zeros((n, k.N_ACC), dtype=np.int64)
    if n == 0:
        return out
    outp = table["med_type"].to_numpy() == 11
    inp = ~outp
    hifp, hifmi, maf, oth = (
        amounts[c].to_numpy().astype(np.int64)
        for c in ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
    )
    inscp = table["inscp_scp_amt"].to_numpy().astype(np.int64)
    comp = compiled(pack)
    days = table["setl_date"].cast(pl.Int32).to_numpy().astype(np.int64)  # days since EPOCH
    v = comp.version_of(days)
    need_prov = comp.basic[v, k.B_T4_INPROV] != 0
    need_ref = comp.basic[v, k.B_T4_REFERRAL] != 0
    prov = table["in_province"].cast(pl.Boolean).to_numpy()
    ref = table["referral"].cast(pl.Boolean).to_numpy()
    counts = (~need_prov | prov) & (~need_ref | ref)
    out[:, k.ACC_PAID11] = np.where(outp, hifp, 0)
    out[:, k.ACC_PAID1] = np.where(inp, hifp, 0)
    out[:, k.ACC_CUM2] = np.where(inp, inscp - hifp, 0)
    out[:, k.ACC_PAID2] = np.where(inp, hifmi, 0)
    out[:, k.ACC_CUM3] = np.where(inp, inscp - hifp - hifmi, 0)
    out[:, k.ACC_PAID3] = np.where(inp, maf, 0)
    out[:, k.ACC_CUM4] = np.where(inp & counts, inscp - hifp - hifmi - maf, 0)
    out[:, k.ACC_PAID4] = np.where(inp, oth, 0)
    return out
