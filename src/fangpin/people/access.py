"""Who may see which persons, households and department uploads (DESIGN §2, §5).

Persons and households: 系统管理员 and 县级经办 the whole county, a 乡镇专干 only those of their
township (anyone else's answers 404); 部门联络员 and 领导 open no personal file.
Department uploads: a 部门联络员 only their own department's (another department's answers
404); 县级经办 and 系统管理员 every department's; 领导 the list with its counts but no rows.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from django.db.models import Q, QuerySet
from django.http import Http404

from fangpin.accounts.access import (
    department_scope,
    get_in_scope_or_404,
    is_read_only,
    require_role,
    require_write,
    role_of,
    scope_queryset,
)
from fangpin.accounts.roles import Role
from fangpin.people.models import DepartmentUpload, Household, Identity, Person
from fangpin.policy.groups import DEFAULT_ORDER, DEPARTMENTS
from fangpin.tabular.deptlist import canonical_department

PERSON_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP)
# The upload list holds counts only, which a leader's statistics may use; its rows (names, IDs
# as the department wrote them) are for the people who send and tag the lists.
UPLOAD_LIST_ROLES = (Role.ADMIN, Role.COUNTY, Role.LIAISON, Role.LEADER)
UPLOAD_ROLES = (Role.ADMIN, Role.COUNTY, Role.LIAISON)
# Tagging is done by the bureau in the insurance system, not by the sending department.
TAGGING_ROLES = (Role.ADMIN, Role.COUNTY)

AREA_FIELD = "township__code"
_FULL_ID = re.compile(r"^\d{17}[\dXx]$")
_ID_TAIL = re.compile(r"^\d{4,17}[\dXx]?$")


# --- persons and households --------------------------------------------------------------


def visible_persons(user: Any) -> QuerySet[Person]:
    require_role(user, *PERSON_ROLES)
    return scope_queryset(Person.objects.all(), user, AREA_FIELD)


def get_person_for_user(user: Any, pk: Any, write: bool = False) -> Person:
    """The person if the user may see them; 404 outside the user's township, 403 for a
    read-only user asking to write."""
    require_role(user, *PERSON_ROLES)
    if write:
        require_write(user)
    qs = Person.objects.select_related("township", "village", "household")
    return get_in_scope_or_404(qs, user, pk, AREA_FIELD)


def search_persons(user: Any, q: str) -> QuerySet[Person]:
    """Persons the user may see matching `q`: a whole ID number, the last digits of one (at least
    four, as people read them out from a card), a person number, or part of a name."""
    qs = visible_persons(user)
    q = q.strip().replace(" ", "")
    if not q:
        return qs
    if _FULL_ID.match(q):
        return qs.filter(Q(id_no=q.upper()) | Q(psn_no=q))
    if _ID_TAIL.match(q):
        return qs.filter(Q(id_no__endswith=q.upper()) | Q(psn_no=q))
    return qs.filter(Q(name__contains=q) | Q(psn_no=q))


def visible_households(user: Any) -> QuerySet[Household]:
    require_role(user, *PERSON_ROLES)
    return scope_queryset(Household.objects.all(), user, AREA_FIELD)


def get_household_for_user(user: Any, pk: Any, write: bool = False) -> Household:
    require_role(user, *PERSON_ROLES)
    if write:
        require_write(user)
    qs = Household.objects.select_related("township", "village")
    return get_in_scope_or_404(qs, user, pk, AREA_FIELD)


def household_members(user: Any, household: Household) -> QuerySet[Person]:
    """The household's members the user may see: a member registered in another township stays
    hidden from a township cadre even on their own household's file."""
    return visible_persons(user).filter(household=household)


def identities_of(person: Person) -> QuerySet[Identity]:
    """Every identity spell of a person already checked with get_person_for_user."""
    return person.identities.select_related("source_upload", "ended_by").order_by("-begin", "name")


def active_groups(person_ids: list[int], on: dt.date) -> dict[int, list[str]]:
    """person pk -> the groups of the identities active on `on`, highest-ranked first."""
    rank = {g: i for i, g in enumerate(DEFAULT_ORDER)}
    rows = (
        Identity.objects.filter(person_id__in=person_ids, begin__lte=on)
        .filter(Q(end__isnull=True) | Q(end__gte=on))
        .values_list("person_id", "group")
        .distinct()
    )
    out: dict[int, list[str]] = {}
    for person, group in rows:
        out.setdefault(person, []).append(group)
    for groups in out.values():
        groups.sort(key=lambda g: rank.get(g, len(rank)))
    return out


def special_population(user: Any, on: dt.date, order: tuple[str, ...] = DEFAULT_ORDER) -> dict:
    """Persons in the user's area with an identity active on `on`, counted by their group (the
    first of `order` among their active identities), every group of `order` present."""
    rank = {g: i for i, g in enumerate(order)}
    active = Identity.objects.filter(begin__lte=on).filter(Q(end__isnull=True) | Q(end__gte=on))
    active = scope_queryset(active, user, "person__township__code")
    best: dict[int, str] = {}
    for person, group in active.values_list("person_id", "group").distinct().iterator(5_000):
        held = best.get(person)
        if held is None or rank.get(group, len(rank)) < rank.get(held, len(rank)):
            best[person] = group
    counts = dict.fromkeys(order, 0)
    for group in best.values():
        counts[group] = counts.get(group, 0) + 1
    return counts


# --- department uploads ---------------------------------------------------------------------


def visible_uploads(user: Any) -> QuerySet[DepartmentUpload]:
    """Uploads whose list the user may see: a liaison's own department's, everyone's for the
    county; 403 for roles that see no uploads at all."""
    require_role(user, *UPLOAD_LIST_ROLES)
    qs = DepartmentUpload.objects.select_related("uploaded_by", "tagged_by")
    dept = _department(user)
    return qs.filter(department=dept) if dept else qs


def _department(user: Any) -> str | None:
    """The liaison's department as uploads store it (民政局 on an account means 民政)."""
    dept = department_scope(user)
    if not dept:
        return None
    try:
        return canonical_department(dept)
    except ValueError:
        return dept


def get_upload_for_user(user: Any, pk: Any, write: bool = False) -> DepartmentUpload:
    """An upload with its rows; 404 for another department's, 403 for roles that may not open
    an upload's rows or, with `write`, change it."""
    require_role(user, *(TAGGING_ROLES if write else UPLOAD_ROLES))
    if write:
        require_write(user)
    try:
        return visible_uploads(user).get(pk=pk)
    except (DepartmentUpload.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到") from None


def upload_departments(user: Any) -> list[str]:
    """The departments the user may upload a list for: a liaison their own, the county every
    department; none for read-only users and other roles."""
    if is_read_only(user) or role_of(user) not in UPLOAD_ROLES:
        return []
    dept = _department(user)
    return [dept] if dept else list(DEPARTMENTS)


def visible_departments(user: Any) -> list[str]:
    """The departments whose uploads the user may list."""
    dept = _department(user)
    return [dept] if dept else list(DEPARTMENTS)


def may_open_uploads(user: Any) -> bool:
    return role_of(user) in UPLOAD_ROLES


def may_tag(user: Any) -> bool:
    return role_of(user) in TAGGING_ROLES and not is_read_only(user)


def may_force(user: Any) -> bool:
    """Only the county may import a list that ends most of a department's identities: it is
    the bureau that answers for the ledger, not the sending office."""
    return role_of(user) in TAGGING_ROLES and not is_read_only(user)
