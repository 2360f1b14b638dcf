"""Who may see which claims in the bureau's web pages (DESIGN §2, §5).

County officers and administrators see every claim; a township cadre only the claims of people
of their township; other roles none (a bill carries personal data and diagnoses' costs).
Institutions reach their own settlements through the API's keys, never through these pages.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import Http404

from fangpin.accounts.access import require_role, scope_queryset
from fangpin.accounts.roles import Role
from fangpin.claims.models import Claim, Notice

CLAIM_ROLES = (Role.ADMIN, Role.COUNTY, Role.TOWNSHIP)


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
        from fangpin.accounts.access import require_write

        require_write(user)
    try:
        return visible_notices(user).get(pk=pk)
    except (Notice.DoesNotExist, ValueError):
        raise Http404("未找到") from None


__all__ = [
    "PermissionDenied",
    "get_claim_for_user",
    "get_notice_for_user",
    "visible_claims",
    "visible_notices",
]
