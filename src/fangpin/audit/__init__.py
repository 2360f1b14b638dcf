"""The audit trail (DESIGN §5): who did what, when, from where.

    from fangpin import audit
    audit.record(request, audit.VIEW, "person", person.pk, "查看人员档案")

Call it for every login, every view of a full personal record, every export and every change.
Summaries must not carry whole ID numbers: write the record's id and a masked ID instead.
Several entries of one change at once (a case step and the move it makes, or many records
changed by one verb) go through `record_many`: the same fields `record` writes, in one insert.
A screening run is one change with one entry naming its counts; its cases' own histories are
their events.
"""

from __future__ import annotations

from collections.abc import Sequence
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


def record_many(
    user: Any,
    action: str,
    obj_type: str,
    obj_ids: Sequence[Any],
    summaries: Sequence[str],
    *,
    username: str | None = None,
) -> int:
    """Write one entry per (object id, summary) pair, all by `user` (None for the system, then
    name it with `username`) at the same moment, exactly as `record(user, action, obj_type,
    obj_id, summary, username=username)` would write each; returns how many. `obj_ids` and
    `summaries` may be lists or Polars series of the same length."""
    import polars as pl
    from django.utils import timezone

    from fangpin.audit.models import AuditEntry, _role
    from fangpin.warnings.bulk import copy_frame

    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
    if user is not None and not getattr(user, "is_authenticated", False):
        user = None
    name = (username if username is not None else user.get_username() if user else "")[:150]
    obj_type = str(obj_type or "")[:64]
    if isinstance(obj_ids, list | tuple) and len(obj_ids) <= _FEW:
        # A step on one case: model rows in one INSERT cost less than building a frame.
        if len(obj_ids) != len(summaries):
            raise ValueError(f"{len(obj_ids)} object ids but {len(summaries)} summaries")
        at, role = timezone.now(), _role(user)
        AuditEntry.objects.bulk_create(
            AuditEntry(user=user, username=name, role=role, at=at, action=action,
                       obj_type=obj_type, obj_id=str(i if i is not None else "")[:64],
                       summary=str(text or "")[:500])
            for i, text in zip(obj_ids, summaries, strict=True)
        )  # fmt: skip
        return len(obj_ids)
    ids = pl.Series("obj_id", obj_ids).cast(pl.String).fill_null("").str.slice(0, 64)
    texts = pl.Series("summary", summaries, dtype=pl.String).fill_null("").str.slice(0, 500)
    if ids.len() != texts.len():
        raise ValueError(f"{ids.len()} object ids but {texts.len()} summaries")
    frame = pl.DataFrame([ids, texts]).select(
        pl.lit(user.pk if user else None, dtype=pl.Int64).alias("user"),
        pl.lit(name).alias("username"),
        pl.lit(_role(user)).alias("role"),
        pl.lit(timezone.now(), dtype=pl.Datetime("us", "UTC")).alias("at"),
        pl.lit(action).alias("action"),
        pl.lit(obj_type).alias("obj_type"),
        "obj_id",
        "summary",
        pl.lit(None, dtype=pl.String).alias("ip_address"),
        pl.lit("").alias("user_agent"),
    )
    return copy_frame(AuditEntry, frame)


_FEW = 100
