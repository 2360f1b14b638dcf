"""Which rows the statistics are summed over (DESIGN §2, §5).

Statistics are for 系统管理员, 县级经办 and 领导 over the whole county, and for a 乡镇专干 over
their own township only; 部门联络员 get none. They are sums, never rows: a leader, who opens no
personal record, may read them. The claims app's own helpers (`claims.access.visible_claims`,
`visible_notices`) serve its record pages and leave leaders out, so the scoped querysets the
sums need are built here on the same area rule (`scope_queryset`, the person's township).
Cases come from `warnings.access.visible_cases`, which already admits leaders.

A township asked for in a URL must be one the user may see: another township answers 404,
exactly as a record outside the user's area does.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import QuerySet
from django.http import Http404

from fangpin.accounts.access import require_role, role_of, scope_queryset
from fangpin.accounts.roles import Role

STATS_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP, Role.LEADER)
# Claims are filed under the person; the person's township is where the figures belong.
CLAIM_AREA = "claim__person__township__code"
NO_TOWNSHIP = "（乡镇不明）"


def may_see_statistics(user: Any) -> bool:
    return role_of(user) in STATS_ROLES


def _year_range(year: int) -> tuple[dt.date, dt.date]:
    return dt.date(year, 1, 1), dt.date(year, 12, 31)


def _in_township(qs: QuerySet, field: str, township: str | None) -> QuerySet:
    return qs.filter(**{field: township}) if township else qs


def valid_settlements(user: Any, year: int, township: str | None = None) -> QuerySet:
    """The year's valid settlements (a ``settle`` row no ``cancel`` row points at) of claims in
    the user's area; `township` narrows to one township the caller has already checked."""
    from fangpin.claims.models import Settlement

    require_role(user, *STATS_ROLES)
    first, last = _year_range(year)
    qs = Settlement.objects.filter(
        kind=Settlement.Kind.SETTLE,
        cancelled_by__isnull=True,
        claim__setl_date__gte=first,
        claim__setl_date__lte=last,
    )
    return _in_township(scope_queryset(qs, user, CLAIM_AREA), CLAIM_AREA, township)


def valid_adjustments(user: Any, year: int, township: str | None = None) -> QuerySet:
    """The adjustments (补差) made against those valid settlements."""
    from fangpin.claims.models import Adjustment, Settlement

    require_role(user, *STATS_ROLES)
    first, last = _year_range(year)
    qs = Adjustment.objects.filter(
        settlement__kind=Settlement.Kind.SETTLE,
        settlement__cancelled_by__isnull=True,
        claim__setl_date__gte=first,
        claim__setl_date__lte=last,
    )
    return _in_township(scope_queryset(qs, user, CLAIM_AREA), CLAIM_AREA, township)


def year_cases(user: Any, year: int, township: str | None = None) -> QuerySet:
    """The warning cases of the year in the user's area."""
    from fangpin.warnings.access import visible_cases

    require_role(user, *STATS_ROLES)
    return _in_township(visible_cases(user).filter(year=year), "township__code", township)


def year_notices(user: Any, year: int, township: str | None = None) -> QuerySet:
    """Missed-benefit notices (应享未享) of the year's claims in the user's area."""
    from fangpin.claims.models import Notice

    require_role(user, *STATS_ROLES)
    qs = scope_queryset(Notice.objects.filter(year=year), user, "township__code")
    return _in_township(qs, "township__code", township)


def townships_for(user: Any) -> QuerySet:
    """The townships whose figures the user may read: their own, or every one of the county."""
    from fangpin.people.models import Area

    require_role(user, *STATS_ROLES)
    qs = Area.objects.filter(level=Area.Level.TOWNSHIP)
    return scope_queryset(qs, user, "code").order_by("code")


def checked_township(user: Any, code: str | None) -> str | None:
    """`code` if the user may read that township's figures (None when no township is asked
    for); 404 for a township outside the user's area or one that does not exist."""
    if not code:
        return None
    if not townships_for(user).filter(code=code).exists():
        raise Http404("未找到")
    return code
