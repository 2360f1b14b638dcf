"""The figures printed at the end of a demo, read from the database (never from the files)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import polars as pl
from django.db.models import Count, Sum

from fangpin.claims.models import Adjustment, Claim, Notice, Settlement
from fangpin.enrollment.models import ReconciliationRun, UnenrolledItem
from fangpin.enrollment.reconcile import EXEMPT, INSURED
from fangpin.people.models import DepartmentUpload, Person
from fangpin.units import fen_to_yuan
from fangpin.warnings.models import Case, State
from fangpin.warnings.services import overdue

# The groups of 农村低收入人口 that the three tiers and medical assistance are aimed at (seed 001
# reports their policy-scope three-tier ratio, 86%; seed 002 aims at 80%).
POOR_GROUPS = ("特困", "低保", "返贫致贫", "监测对象", "低保边缘")
THREE_TIER_MED_TYPES = (14, 21)  # general outpatient (11) gets basic insurance only


@dataclass
class Summary:
    people: int = 0
    special: int = 0
    enrollment_rate: float | None = None
    uploads: int = 0
    rejected_rows: int = 0
    unenrolled_open: int = 0
    claims: int = 0
    claims_settled: int = 0
    poor_ratio: float | None = None
    poor_claims: int = 0
    warnings: dict[str, int] = field(default_factory=dict)  # "rule level" -> cases
    red_persons: int = 0
    cases: int = 0
    closed: int = 0
    overdue: int = 0
    notices: int = 0
    notices_total: int = 0  # fen

    def lines(self) -> list[str]:
        pct = lambda x: "—" if x is None else f"{100 * x:.2f}%"  # noqa: E731
        red_share = self.red_persons / self.special if self.special else None
        return [
            f"人员 {self.people} 人，其中特殊人群 {self.special} 人；特殊人群参保率 {pct(self.enrollment_rate)}",
            f"部门名单 {self.uploads} 份，退回问题行 {self.rejected_rows} 行；未参保待核实 {self.unenrolled_open} 人",
            f"结算单据 {self.claims} 条，已结算 {self.claims_settled} 条；"
            f"困难群众住院和慢特病“三重保障”政策范围内报销比例 {pct(self.poor_ratio)}（{self.poor_claims} 条）",
            "预警案件："
            + "，".join(f"{k} {v}" for k, v in self.warnings.items())
            + f"；红色预警 {self.red_persons} 人，占特殊人群 {pct(red_share)}",
            f"案件 {self.cases} 件：已办结 {self.closed} 件，逾期未核查 {self.overdue} 件",
            f"应享未享补发通知 {self.notices} 份，合计 {fen_to_yuan(self.notices_total)} 元",
        ]


def poor_group_ratio(year: int) -> tuple[float | None, int]:
    """Σ fund / Σ policy-scope amount over the year's validly settled 14 and 21 claims whose
    group (after any re-settlement) is a poor group; and how many claims that is."""
    valid = Settlement.objects.filter(
        kind=Settlement.Kind.SETTLE,
        cancelled_by__isnull=True,
        claim__setl_date__year=year,
        claim__med_type__in=THREE_TIER_MED_TYPES,
    )
    rows = pl.DataFrame(
        list(valid.values_list("pk", "group", "fund_pay_sumamt", "claim__inscp_scp_amt")),
        schema={"s": pl.Int64, "group": pl.String, "fund": pl.Int64, "inscp": pl.Int64},
        orient="row",
    )
    adj = pl.DataFrame(
        list(
            Adjustment.objects.filter(settlement__in=valid)
            .order_by("pk")
            .values_list("settlement_id", "group", "fund_pay_sumamt")
        ),
        schema={"s": pl.Int64, "adj_group": pl.String, "adj_fund": pl.Int64},
        orient="row",
    )
    per = adj.group_by("s").agg(pl.col("adj_group").last(), pl.col("adj_fund").sum())
    rows = rows.join(per, on="s", how="left").with_columns(
        pl.coalesce("adj_group", "group").alias("group"),
        (pl.col("fund") + pl.col("adj_fund").fill_null(0)).alias("fund"),
    )
    poor = rows.filter(pl.col("group").is_in(POOR_GROUPS))
    inscp = int(poor["inscp"].sum())
    return (int(poor["fund"].sum()) / inscp if inscp else None), poor.height


def summarise(year: int, today: dt.date) -> Summary:
    s = Summary(people=Person.objects.count())
    run = ReconciliationRun.objects.filter(year=year).order_by("-month").first()
    if run is not None:
        s.special = run.persons
        counts = run.counts or {}
        insured = sum(counts.get(k, 0) for k in INSURED)
        need = run.persons - sum(counts.get(k, 0) for k in EXEMPT)
        s.enrollment_rate = insured / need if need else None
    s.unenrolled_open = UnenrolledItem.objects.filter(year=year, closed_run__isnull=True).count()
    up = DepartmentUpload.objects.aggregate(n=Count("pk"), r=Sum("rows_rejected"))
    s.uploads, s.rejected_rows = up["n"], up["r"] or 0
    claims = Claim.objects.filter(setl_date__year=year)
    s.claims = claims.count()
    s.claims_settled = claims.filter(settlements__kind=Settlement.Kind.SETTLE).distinct().count()
    s.poor_ratio, s.poor_claims = poor_group_ratio(year)
    cases = Case.objects.filter(year=year)
    for name, level, n in (
        cases.values_list("rule_name", "level").annotate(n=Count("pk")).order_by("rule_name", "-n")
    ):
        s.warnings[f"{name}·{level}"] = n
    s.red_persons = cases.filter(level="红色").values("psn_no").distinct().count()
    s.cases = cases.count()
    s.closed = cases.filter(state=State.CLOSED).count()
    s.overdue = overdue(cases, today).count()
    notices = Notice.objects.filter(year=year).aggregate(n=Count("pk"), t=Sum("amount"))
    s.notices, s.notices_total = notices["n"], notices["t"] or 0
    return s
