"""Audit entries: append-only rows, one per login, view, export or change."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.http import HttpRequest
from django.utils import timezone

from fangpin.audit import ACTIONS


class AuditEntry(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="用户",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        # No index of its own: the (user, at) index below serves every lookup by user, and each
        # index is one more write for the tens of thousands of entries a screening run adds.
        db_index=False,
    )
    # Name and role as they were at the time: they survive the account being renamed or removed.
    username = models.CharField("用户名", max_length=150, blank=True)
    role = models.CharField("角色", max_length=8, blank=True)
    at = models.DateTimeField("时间", default=timezone.now)
    action = models.CharField("操作", max_length=16, choices=list(ACTIONS.items()))
    obj_type = models.CharField("对象类型", max_length=64, blank=True)
    obj_id = models.CharField("对象编号", max_length=64, blank=True)
    summary = models.CharField("摘要", max_length=500, blank=True)
    ip_address = models.GenericIPAddressField("IP 地址", null=True, blank=True)
    user_agent = models.CharField("浏览器", max_length=255, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "审计记录"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["at"], name="audit_entry_at"),
            models.Index(fields=["user", "at"], name="audit_entry_user_at"),
            models.Index(fields=["action", "at"], name="audit_entry_action_at"),
            models.Index(fields=["obj_type", "obj_id"], name="audit_entry_object"),
        ]

    def __str__(self) -> str:
        return f"{self.at:%Y-%m-%d %H:%M:%S} {self.username} {self.get_action_display()} {self.obj_type} {self.obj_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        # An audit trail that can be edited proves nothing: entries are only ever added.
        if self.pk is not None:
            raise ValueError("audit entries cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise ValueError("audit entries cannot be deleted")

    @classmethod
    def write(
        cls,
        request_or_user: Any,
        action: str,
        obj_type: str = "",
        obj_id: Any = "",
        summary: str = "",
        *,
        username: str | None = None,
        user: Any = None,
    ) -> AuditEntry:
        if action not in ACTIONS:
            raise ValueError(f"unknown audit action {action!r}; known: {', '.join(ACTIONS)}")
        request = request_or_user if isinstance(request_or_user, HttpRequest) else None
        if user is None:
            user = request.user if request is not None else request_or_user
        if user is not None and not getattr(user, "is_authenticated", False):
            user = None
        entry = cls(
            user=user,
            username=(username if username is not None else user.get_username() if user else "")[
                :150
            ],
            role=_role(user),
            action=action,
            obj_type=str(obj_type or "")[:64],
            obj_id=str(obj_id if obj_id is not None else "")[:64],
            summary=str(summary or "")[:500],
        )
        if request is not None:
            entry.ip_address = client_ip(request)
            entry.user_agent = request.META.get("HTTP_USER_AGENT", "")[:255]
        entry.save()
        return entry


def client_ip(request: HttpRequest) -> str | None:
    """The peer's address. X-Forwarded-For is ignored: the bureaus run the server without a
    proxy in front, and a header any client can set would let anyone forge the audit trail."""
    return request.META.get("REMOTE_ADDR") or None


def _role(user: Any) -> str:
    if user is None:
        return ""
    from fangpin.accounts.access import role_of

    return role_of(user) or ""
