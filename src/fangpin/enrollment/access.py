"""Who may see which enrollment rows and figures (DESIGN §2, §5).

Un-enrolled items, newborn items and enrollment records: 系统管理员 and 县级经办 the whole
county, a 乡镇专干 only their township's (anyone else's answers 404). Reconciliation figures:
the same, plus 领导, who reads the county's statistics and changes nothing. Running a
reconciliation is for 县级经办 and 系统管理员 only.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import polars as pl
from django.conf import settings
from django.db.models import Prefetch, QuerySet
from django.http import Http404

from fangpin.accounts.access import (
    area_scope,
    get_in_scope_or_404,
    is_read_only,
    require_role,
    require_write,
    role_of,
    scope_queryset,
)
from fangpin.accounts.roles import Role
from fangpin.enrollment import reconcile as rc
from fangpin.enrollment.models import (
    EnrollmentRecord,
    ItemState,
    NewbornItem,
    ReconciliationRun,
    UnenrolledFeedback,
    UnenrolledItem,
)
from fangpin.people.models import Area
from fangpin.policy.groups import DEFAULT_ORDER

ITEM_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP)
STATS_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP, Role.LEADER)
RUN_ROLES = (Role.ADMIN, Role.COUNTY)
AREA_FIELD = "township__code"
NO_TOWNSHIP = "（乡镇不明）"


# --- items and records ------------------------------------------------------------------------


def visible_unenrolled(user: Any) -> QuerySet[UnenrolledItem]:
    require_role(user, *ITEM_ROLES)
    return scope_queryset(UnenrolledItem.objects.all(), user, AREA_FIELD)


def get_unenrolled_for_user(user: Any, pk: Any, write: bool = False) -> UnenrolledItem:
    """An un-enrolled item; 404 outside the user's township, 403 for a read-only user writing."""
    require_role(user, *ITEM_ROLES)
    if write:
        require_write(user)
    qs = UnenrolledItem.objects.select_related("person", "person__village", "township")
    return get_in_scope_or_404(qs, user, pk, AREA_FIELD)


def with_feedback(qs: QuerySet[UnenrolledItem]) -> QuerySet[UnenrolledItem]:
    """Items with their feedback loaded (newest first), for lists that show the latest."""
    return qs.prefetch_related(
        Prefetch("feedback", queryset=UnenrolledFeedback.objects.select_related("created_by"))
    )


def visible_newborns(user: Any) -> QuerySet[NewbornItem]:
    require_role(user, *ITEM_ROLES)
    return scope_queryset(NewbornItem.objects.all(), user, AREA_FIELD)


def visible_enrollments(user: Any) -> QuerySet[EnrollmentRecord]:
    require_role(user, *ITEM_ROLES)
    return scope_queryset(EnrollmentRecord.objects.all(), user, "person__township__code")


def townships_for(user: Any) -> QuerySet[Area]:
    """The townships the user may choose in a filter: their own, or all of the county's."""
    return scope_queryset(Area.objects.filter(level=Area.Level.TOWNSHIP), user, "code").order_by(
        "code"
    )


def may_write_items(user: Any) -> bool:
    return role_of(user) in ITEM_ROLES and not is_read_only(user)


def may_run(user: Any) -> bool:
    return role_of(user) in RUN_ROLES and not is_read_only(user)


def open_item_count(user: Any, year: int | None = None) -> int:
    """Open un-enrolled items in the user's area (a figure: no role check beyond a role)."""
    qs = scope_queryset(UnenrolledItem.objects.filter(state=ItemState.OPEN), user, AREA_FIELD)
    return qs.filter(year=year).count() if year else qs.count()


# --- reconciliation runs and their figures ----------------------------------------------------


def visible_runs(user: Any) -> QuerySet[ReconciliationRun]:
    require_role(user, *STATS_ROLES)
    return ReconciliationRun.objects.order_by("-month", "-year", "-pk")


def get_run_for_user(user: Any, pk: Any) -> ReconciliationRun:
    try:
        return visible_runs(user).get(pk=pk)
    except (ReconciliationRun.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到") from None


def latest_run(year: int | None = None) -> ReconciliationRun | None:
    qs = ReconciliationRun.objects.order_by("-month", "-year", "-pk")
    return (qs.filter(year=year) if year else qs).first()


@dataclass
class Summary:
    """A run's figures within a user's area: rows of counts per status, insured, to_enroll and
    rate (None where nobody needs enrolling)."""

    by_township: list[dict] = field(default_factory=list)
    by_group: list[dict] = field(default_factory=list)  # per group, over the whole area
    by_township_group: list[dict] = field(default_factory=list)
    total: dict | None = None
    statuses: tuple[str, ...] = rc.STATUSES


def _groups_order(pack_id: str, on: dt.date) -> tuple[str, ...]:
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError

    try:
        return load_pack(pack_id or settings.FANGPIN_POLICY).policy_at(on).groups_order
    except PackError:
        return DEFAULT_ORDER


@lru_cache(maxsize=4)
def _statuses(pk: int, run_at: dt.datetime, year: int, as_of: dt.date, pack: str) -> pl.DataFrame:
    # A run keeps only the county's totals; the per-township figures are worked out again from
    # the ledger at the run's date, once per run (run_at changes when the month is re-run).
    from fangpin.enrollment.services import ledger_statuses

    return ledger_statuses(year, as_of, _groups_order(pack, as_of))


def run_statuses(run: ReconciliationRun) -> pl.DataFrame:
    """Per person of the special population at the run's date: township, group, status."""
    return _statuses(run.pk, run.run_at, run.year, run.as_of, run.pack)


def run_summary(user: Any, run: ReconciliationRun) -> Summary:
    """The run's figures for the townships the user may see."""
    st = run_statuses(run)
    scope = area_scope(user)
    if scope is not None:
        ids = list(Area.objects.filter(code=scope).values_list("pk", flat=True))
        st = st.filter(pl.col("township_id").is_in(ids))
    st = st.with_columns(pl.col("township").fill_null(NO_TOWNSHIP), pl.col("group").fill_null("—"))
    if st.height == 0:
        return Summary()
    rank = {g: i for i, g in enumerate(_groups_order(run.pack, run.as_of))}
    # Townships in the order of their division codes, as the bureau's own tables list them.
    code = dict(Area.objects.filter(level=Area.Level.TOWNSHIP).values_list("name", "code"))

    def ordered(rows: list[dict]) -> list[dict]:
        return sorted(
            rows,
            key=lambda r: (
                code.get(r.get("township", ""), "\uffff"),
                r.get("township", ""),
                rank.get(r.get("group", ""), len(rank)),
            ),
        )

    total = rc.summary(st.with_columns(pl.lit("合计").alias("all")), ["all"]).to_dicts()[0]
    return Summary(
        by_township=ordered(rc.summary(st, ["township"]).to_dicts()),
        by_group=ordered(rc.summary(st, ["group"]).to_dicts()),
        by_township_group=ordered(rc.summary(st, ["township", "group"]).to_dicts()),
        total=total,
    )
