"""Subsidies stored on enrollment records, and the list for the tax bureau (RULES §2).

Each person with a resident (居民) record of the year gets the subsidy of `fangpin.engine.subsidy`
on one record — the earliest paid — with the group used; any other record of theirs that year
gets none ("at most one subsidy per year"). A prisoner's record (服刑) gets none: no contribution
was collected. Re-running with the same identities changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl
from django.db import transaction

from fangpin.engine.subsidy import subsidies
from fangpin.enrollment.models import EnrollmentRecord, Insutype, StopReason
from fangpin.enrollment.services import identities_frame
from fangpin.people.auditing import CHANGE, EXPORT, audit
from fangpin.people.bulk import read_frame, select_rows, update_rows
from fangpin.people.services import BATCH
from fangpin.policy.groups import GROUP_BIT
from fangpin.policy.schema import Policy
from fangpin.tabular.xlsx import write_xlsx
from fangpin.units import fen_to_yuan


@dataclass
class SubsidyResult:
    year: int
    persons: int
    subsidised: int
    total: int  # fen
    changed: int
    table: pl.DataFrame  # person, record, group, subsidy, personal_pay, tier, contribution


def compute_subsidies(year: int, policy: Policy, user: Any = None) -> SubsidyResult:
    """Compute and store the year's subsidies (see the module's docstring)."""
    records = read_frame(
        EnrollmentRecord,
        ("id", "person", "tier", "subsidy", "subsidy_group", "subsidy_pack"),
        "{year} = %s AND {insutype} = %s AND {stop_reason} <> %s",
        [year, Insutype.RESIDENT.value, StopReason.PRISON.value],
        order_by=("person", "paid_date", "id"),
    ).rename({"id": "record"})
    first = records.unique("person", keep="first", maintain_order=True)
    idents = identities_frame(year=year, fields=("person", "group", "begin", "end")).filter(
        pl.col("person").is_in(first["person"].implode())
    )
    frame = idents.select(
        pl.col("person").cast(pl.String).alias("psn_no"),
        pl.col("group").replace_strict(GROUP_BIT, return_dtype=pl.Int64).alias("group_bit"),
        pl.col("begin").alias("begndate"),
        pl.col("end").alias("enddate"),
    )
    tiers = first.select(pl.col("person").cast(pl.String).alias("psn_no"), "tier")
    people = first["person"].cast(pl.String)
    table = subsidies(policy, frame, year, tiers=tiers, people=people).with_columns(
        pl.col("psn_no").cast(pl.Int64).alias("person")
    )
    table = table.join(first.select("person", "record"), on="person", how="left")
    changed = _store(year, policy.pack_id, table, records)
    total = int(table["subsidy"].sum())
    audit(
        user, CHANGE, "enrollment_subsidy", year,
        f"{year} 年度资助参保（{policy.pack_id}）：{table.height} 人，合计 {fen_to_yuan(total)} 元，更新 {changed} 条",
    )  # fmt: skip
    return SubsidyResult(
        year=year,
        persons=table.height,
        subsidised=int((table["subsidy"] > 0).sum()),
        total=total,
        changed=changed,
        table=table,
    )


def _store(year: int, pack_id: str, table: pl.DataFrame, records: pl.DataFrame) -> int:
    """Write the subsidies where they differ from what the records hold. `records` are the
    year's resident records that may be subsidised, with their stored values; every other
    record of the year (employee, elsewhere, a prisoner's) must hold none."""
    want = table.select(
        "record", pl.col("subsidy").cast(pl.Int64), pl.col("group").fill_null("").alias("g")
    ).unique("record", keep="last")
    target = records.join(want, on="record", how="left").select(
        "record",
        "subsidy",
        "subsidy_group",
        "subsidy_pack",
        pl.col("subsidy_right").fill_null(0).alias("new_subsidy"),
        pl.col("g").fill_null("").alias("new_group"),
        pl.when(pl.col("g").is_not_null())
        .then(pl.lit(pack_id))
        .otherwise(pl.lit(""))
        .alias("new_pack"),
    )
    differs = (
        (pl.col("subsidy") != pl.col("new_subsidy"))
        | (pl.col("subsidy_group") != pl.col("new_group"))
        | (pl.col("subsidy_pack") != pl.col("new_pack"))
    )
    changed = target.filter(differs).select("record", "new_subsidy", "new_group", "new_pack").rows()
    with transaction.atomic():
        stray = select_rows(
            EnrollmentRecord,
            ("id",),
            "{year} = %s AND NOT ({insutype} = %s AND {stop_reason} <> %s)"
            " AND ({subsidy} <> 0 OR {subsidy_group} <> '' OR {subsidy_pack} <> '')",
            [year, Insutype.RESIDENT.value, StopReason.PRISON.value],
        )
        changed += [(pk, 0, "", "") for (pk,) in stray]
        # One prepared UPDATE (PostgreSQL: one statement) rather than bulk_update's CASE
        # expressions, which SQLite evaluates row by row against every branch.
        update_rows(EnrollmentRecord, ("subsidy", "subsidy_group", "subsidy_pack"), changed)
    return len(changed)


TAX_HEADERS = (
    "序号",
    "乡镇",
    "村",
    "姓名",
    "身份证号",
    "参保年度",
    "缴费档次",
    "资助类别",
    "个人应缴(元)",
    "资助金额(元)",
    "个人实缴(元)",
)


def write_tax_list(year: int, path: str | Path, policy: Policy, user: Any = None) -> int:
    """The subsidised people of the year for the tax bureau (xlsx); returns the number of rows."""
    contribution = policy.enrollment.contribution
    first_tier = next(iter(contribution))
    records = (
        EnrollmentRecord.objects.filter(year=year, subsidy__gt=0)
        .select_related("person", "person__township", "person__village")
        .order_by("person__township__name", "person__village__name", "person__id_no")
    )

    def rows():
        for n, r in enumerate(records.iterator(chunk_size=BATCH), start=1):
            p = r.person
            c = contribution.get(r.tier or first_tier, contribution[first_tier])
            yield (
                n, p.township.name if p.township else "", p.village.name if p.village else "", p.name, p.id_no,
                year, r.tier or first_tier, r.subsidy_group, fen_to_yuan(c), fen_to_yuan(r.subsidy),
                fen_to_yuan(c - r.subsidy),
            )  # fmt: skip

    n = write_xlsx(path, TAX_HEADERS, rows(), sheet=f"{year}年资助参保名单", widths={4: 22})
    audit(user, EXPORT, "tax_list", year, f"导出 {year} 年度资助参保名单 {n} 行")
    return n
