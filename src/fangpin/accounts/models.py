"""A profile beside Django's own user: role, area, department, lockout and second factor."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from fangpin.accounts.roles import ALL_ROLES, READ_ONLY_ROLES, ROLE_CHOICES, Role


class Profile(models.Model):
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name="用户",
        on_delete=models.CASCADE,
        related_name="profile",
    )
    role = models.CharField("角色", max_length=8, choices=ROLE_CHOICES)
    # The area is kept as code and name, not as a foreign key, so accounts need no other app:
    # the code is the same string the people ledger stores in Area.code.
    area_code = models.CharField("区划代码", max_length=128, blank=True)
    area_name = models.CharField("区划名称", max_length=64, blank=True)
    department = models.CharField("部门", max_length=16, blank=True)
    read_only = models.BooleanField("只读", default=False)
    failed_logins = models.PositiveIntegerField("连续登录失败次数", default=0)
    locked_until = models.DateTimeField("锁定至", null=True, blank=True)
    totp_secret = models.CharField("动态口令密钥", max_length=64, blank=True)
    totp_enabled = models.BooleanField("启用动态口令", default=False)
    # The last time step accepted, so a code seen over someone's shoulder cannot be replayed.
    totp_last_step = models.BigIntegerField("最近使用的动态口令时间片", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "用户资料"
        constraints = [
            models.CheckConstraint(
                condition=Q(role__in=ALL_ROLES), name="accounts_profile_role_known"
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.TOWNSHIP.value) | ~Q(area_code=""),
                name="accounts_profile_township_has_area",
            ),
            models.CheckConstraint(
                condition=~Q(role=Role.LIAISON.value) | ~Q(department=""),
                name="accounts_profile_liaison_has_department",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user.get_username()} ({self.role})"

    @property
    def is_read_only(self) -> bool:
        return self.read_only or self.role in READ_ONLY_ROLES

    def is_locked(self, now=None) -> bool:
        now = now or timezone.now()
        return self.locked_until is not None and self.locked_until > now

    @property
    def area_label(self) -> str:
        if self.role == Role.LIAISON:
            return self.department
        return self.area_name or self.area_code or "全县"
