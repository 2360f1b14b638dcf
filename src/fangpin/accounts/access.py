"""The access rules every app's access.py builds on (DESIGN §2, §5).

    from fangpin.accounts.access import area_scope, get_in_scope_or_404, require_write

    def visible_people(user):
        return scope_queryset(Person.objects.all(), user, "township__code")

    def get_person_for_user(user, pk, write=False):
        if write:
            require_write(user)
        return get_in_scope_or_404(Person.objects.all(), user, pk, "township__code")

A row outside the user's area answers 404 (its existence is not revealed); a read-only user
(or a leader) trying to change anything gets 403. Users without a role see nothing at all.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse

from fangpin.accounts.roles import ALL_ROLES, FULL_ID_ROLES, READ_ONLY_ROLES, Role

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def profile_of(user: Any):
    """The user's Profile, or None (anonymous, or an account nobody gave a role)."""
    if user is None or not getattr(user, "is_authenticated", False):
        return None
    try:
        return user.profile
    except ObjectDoesNotExist:
        return None


def role_of(user: Any) -> str | None:
    """The user's role; None for anonymous users and accounts without a profile."""
    profile = profile_of(user)
    return profile.role if profile is not None else None


def is_read_only(user: Any) -> bool:
    profile = profile_of(user)
    return profile is None or profile.read_only or profile.role in READ_ONLY_ROLES


def area_scope(user: Any) -> str | None:
    """None when the user sees the whole county; the township code for a 乡镇专干.

    Raises PermissionDenied for a user without a role: returning None there would mean
    "everything", and a missing profile must never widen what anyone sees.
    """
    profile = profile_of(user)
    if profile is None:
        raise PermissionDenied("账户未分配角色")
    if profile.role == Role.TOWNSHIP:
        return profile.area_code
    return None


def department_scope(user: Any) -> str | None:
    """The department of a 部门联络员 (who sees only that department's lists); None otherwise."""
    profile = profile_of(user)
    if profile is None:
        raise PermissionDenied("账户未分配角色")
    return profile.department if profile.role == Role.LIAISON else None


def require_role(user: Any, *roles: str) -> str:
    """The user's role if it is one of `roles` (any role when none are named), else 403."""
    role = role_of(user)
    if role is None or (roles and role not in roles):
        raise PermissionDenied("无权访问")
    return role


def require_write(user: Any) -> None:
    """403 for read-only accounts, leaders, and users without a role."""
    if is_read_only(user):
        raise PermissionDenied("只读账户不能修改数据")


def scope_queryset(queryset: QuerySet, user: Any, area_field: str) -> QuerySet:
    """`queryset` narrowed to the user's township through `area_field`, a lookup that ends at
    the area code (e.g. "township__code")."""
    scope = area_scope(user)
    if scope is None:
        return queryset
    return queryset.filter(**{area_field: scope})


def get_in_scope_or_404(queryset: QuerySet, user: Any, pk: Any, area_field: str) -> Model:
    """The row `pk` if it lies in the user's area; 404 if it does not exist or lies elsewhere."""
    try:
        return scope_queryset(queryset, user, area_field).get(pk=pk)
    except (ObjectDoesNotExist, ValueError, TypeError):
        raise Http404("未找到") from None


def needs_full_id(user: Any) -> bool:
    return role_of(user) in FULL_ID_ROLES


def mask_id(id_no: str | None, user: Any = None) -> str:
    """An ID number as a list or export may show it to `user`: whole for roles that need it,
    otherwise the first 6 and last 4 characters (640324********1234)."""
    if not id_no:
        return ""
    id_no = str(id_no)
    if user is not None and needs_full_id(user):
        return id_no
    if len(id_no) <= 10:
        # Too short to keep both ends without showing most of it.
        return "*" * len(id_no)
    return id_no[:6] + "*" * (len(id_no) - 10) + id_no[-4:]


def role_required(*roles: str, allow_read_only_writes: bool = False) -> Callable:
    """View decorator: login required (anonymous users go to the login page), the user's role
    must be one of `roles` (any role when none are named), and a POST, PUT, PATCH or DELETE
    from a read-only user answers 403 — unless `allow_read_only_writes` (for a user's own
    settings, never for records)."""
    unknown = set(roles) - set(ALL_ROLES)
    if unknown:
        raise ValueError(f"unknown roles: {', '.join(sorted(unknown))}")

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not request.user.is_authenticated:
                return redirect_to_login(request.get_full_path())
            require_role(request.user, *roles)
            if request.method not in SAFE_METHODS and not allow_read_only_writes:
                require_write(request.user)
            return view(request, *args, **kwargs)

        wrapped.allowed_roles = tuple(roles) or ALL_ROLES  # type: ignore[attr-defined]
        return wrapped

    return decorator
