"""Which warning cases a user may see and change (DESIGN §2, §5).

A 乡镇专干 sees the cases of their own township only; county officers, administrators and
leaders see the whole county (leaders read only). 部门联络员 work on their department's lists
and see no case. A case of a person the people ledger does not know has no township: only
county-level users see it, to assign it.
"""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet

from fangpin.accounts.access import get_in_scope_or_404, require_role, require_write, scope_queryset
from fangpin.accounts.roles import Role
from fangpin.warnings.models import Case, ScreeningRun

CASE_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP, Role.LEADER)
RUN_ROLES = (Role.ADMIN, Role.COUNTY, Role.LEADER)


def visible_cases(user: Any) -> QuerySet:
    require_role(user, *CASE_ROLES)
    return scope_queryset(Case.objects.all(), user, "township__code")


def get_case_for_user(user: Any, pk: Any, write: bool = False) -> Case:
    """The case if the user may see it (404 otherwise); 403 for a write by a read-only user."""
    require_role(user, *CASE_ROLES)
    if write:
        require_write(user)
    return get_in_scope_or_404(Case.objects.select_related("person", "township", "village", "household", "opened_run"),
                               user, pk, "township__code")  # fmt: skip


def visible_runs(user: Any) -> QuerySet:
    require_role(user, *RUN_ROLES)
    return ScreeningRun.objects.all()
