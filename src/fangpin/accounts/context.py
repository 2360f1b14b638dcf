"""Template context: who is logged in, shown in the top bar of every page."""

from __future__ import annotations

from django.http import HttpRequest

from fangpin.accounts.access import is_read_only, profile_of


def account(request: HttpRequest) -> dict:
    user = getattr(request, "user", None)
    profile = profile_of(user)
    if profile is None:
        return {"fp_account": None}
    return {
        "fp_account": {
            "name": user.get_full_name() or user.get_username(),
            "username": user.get_username(),
            "role": profile.role,
            "area": profile.area_label,
            "read_only": is_read_only(user),
        }
    }
