"""The audit trail (DESIGN §5): who did what, when, from where.

    from fangpin import audit
    audit.record(request, audit.VIEW, "person", person.pk, "查看人员档案")

Call it for every login, every view of a full personal record, every export and every change.
Summaries must not carry whole ID numbers: write the record's id and a masked ID instead.
"""

from __future__ import annotations

from typing import Any

LOGIN = "login"
LOGIN_FAILED = "login_failed"
LOGOUT = "logout"
VIEW = "view"
EXPORT = "export"
CHANGE = "change"

ACTIONS: dict[str, str] = {
    LOGIN: "登录",
    LOGIN_FAILED: "登录失败",
    LOGOUT: "退出",
    VIEW: "查看",
    EXPORT: "导出",
    CHANGE: "修改",
}


def record(
    request_or_user: Any,
    action: str,
    obj_type: str = "",
    obj_id: Any = "",
    summary: str = "",
    *,
    username: str | None = None,
    user: Any = None,
):
    """Write one audit entry and return it.

    `request_or_user` is an HttpRequest (its user, IP address and browser are recorded), a
    user, or None for an anonymous event such as a login attempt under an unknown name (then
    pass the name tried as `username`). `user` names the account an event is about when the
    request's user is not logged in yet (a failed login under a known name).
    """
    # Imported here so `from fangpin import audit` works before Django's apps are loaded.
    from fangpin.audit.models import AuditEntry

    return AuditEntry.write(
        request_or_user, action, obj_type, obj_id, summary, username=username, user=user
    )
