"""Who may see which claims in the bureau's web pages (DESIGN §2, §5).

County officers and administrators see every claim; a township cadre only the claims of people
of their township; other roles none (a bill carries personal data and diagnoses' costs).
Institutions reach their own settlements through the API's keys, never through these pages.

Missed-benefit notices follow the same areas. The county dispatches a notice to the township
and may recall it before receipt; the township receives it, tells the person and records the
payment (RULES §7). Overpaid amounts and the monthly claim imports are county business.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from fangpin.accounts.access import (
    is_read_only,
    require_role,
    require_write,
    role_of,
    scope_queryset,
)
from fangpin.accounts.roles import Role
from fangpin.claims.models import Claim, ClaimImport, Notice, Overpaid
from fangpin.people.models import Area

CLAIM_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP)
COUNTY_ROLES = (Role.ADMIN, Role.COUNTY)

_S = Notice.State
# Who moves a notice from one state to the next: (from, to) -> the roles allowed.
NOTICE_MOVES: dict[tuple[str, str], tuple[str, ...]] = {
    (_S.PENDING, _S.DISPATCHED): COUNTY_ROLES,
    (_S.DISPATCHED, _S.PENDING): COUNTY_ROLES,  # recall, before the township has received it
    (_S.DISPATCHED, _S.RECEIVED): (Role.TOWNSHIP,),
    (_S.RECEIVED, _S.NOTIFIED): (Role.TOWNSHIP,),
    (_S.NOTIFIED, _S.PAID): (Role.TOWNSHIP,),
}


def visible_claims(user: Any) -> QuerySet[Claim]:
    require_role(user, *CLAIM_ROLES)
    return scope_queryset(Claim.objects.all(), user, "person__township__code")


def get_claim_for_user(user: Any, setl_id: str) -> Claim:
    """The claim if the user may see it; 404 when it does not exist or lies outside their area."""
    try:
        return visible_claims(user).select_related("institution", "person").get(setl_id=setl_id)
    except Claim.DoesNotExist:
        raise Http404("未找到") from None


def visible_notices(user: Any) -> QuerySet[Notice]:
    require_role(user, *CLAIM_ROLES)
    return scope_queryset(Notice.objects.all(), user, "township__code")


def get_notice_for_user(user: Any, pk: int, write: bool = False) -> Notice:
    if write:
        require_write(user)
    try:
        return visible_notices(user).select_related("person", "township", "run").get(pk=pk)
    except (Notice.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到") from None


def notice_moves_for(user: Any, notice: Notice) -> list[str]:
    """The states this user may move the notice to now (none for read-only accounts)."""
    if is_read_only(user):
        return []
    role = role_of(user)
    return [
        to for (frm, to), roles in NOTICE_MOVES.items() if frm == notice.state and role in roles
    ]


def require_notice_move(user: Any, notice: Notice, to_state: str) -> None:
    """403 when the move is one of the workflow's but not this user's to make (a township cadre
    dispatching, the county receiving for a township). A move the workflow does not know at
    all is left to the workflow, which explains why it is refused."""
    require_write(user)
    roles = NOTICE_MOVES.get((notice.state, to_state))
    if roles is not None and role_of(user) not in roles:
        raise PermissionDenied("无权进行此操作")


def townships_for(user: Any) -> QuerySet[Area]:
    """The townships a user may choose in a filter: their own, or all of the county's."""
    qs = Area.objects.filter(level=Area.Level.TOWNSHIP)
    return scope_queryset(qs, user, "code").order_by("code")


def visible_overpaid(user: Any) -> QuerySet[Overpaid]:
    require_role(user, *COUNTY_ROLES)
    return Overpaid.objects.all()


def get_overpaid_for_user(user: Any, pk: int, write: bool = False) -> Overpaid:
    if write:
        require_write(user)
    try:
        return visible_overpaid(user).get(pk=pk)
    except (Overpaid.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到") from None


def visible_imports(user: Any) -> QuerySet[ClaimImport]:
    require_role(user, *COUNTY_ROLES)
    return ClaimImport.objects.all()


def get_import_for_user(user: Any, pk: int) -> ClaimImport:
    try:
        return visible_imports(user).select_related("institution").get(pk=pk)
    except (ClaimImport.DoesNotExist, ValueError, TypeError):
        raise Http404("未找到") from None


__all__ = [
    "CLAIM_ROLES",
    "COUNTY_ROLES",
    "NOTICE_MOVES",
    "PermissionDenied",
    "get_claim_for_user",
    "get_import_for_user",
    "get_notice_for_user",
    "get_overpaid_for_user",
    "notice_moves_for",
    "require_notice_move",
    "townships_for",
    "visible_claims",
    "visible_imports",
    "visible_notices",
    "visible_overpaid",
]
