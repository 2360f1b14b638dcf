"""The people ledger: areas, households, persons, dated identities, department uploads."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class Area(models.Model):
    """One node of the county's area tree: the county, a township (乡镇), a village (村/社区)."""

    class Level(models.TextChoices):
        COUNTY = "county", "县"
        TOWNSHIP = "township", "乡镇"
        VILLAGE = "village", "村"

    code = models.CharField("代码", max_length=128, unique=True)
    name = models.CharField("名称", max_length=64)
    level = models.CharField("层级", max_length=10, choices=Level.choices)
    parent = models.ForeignKey(
        "self",
        verbose_name="上级",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="children",
    )

    class Meta:
        verbose_name = verbose_name_plural = "区划"
        constraints = [
            models.UniqueConstraint(
                fields=["parent", "name"], name="people_area_name_unique_in_parent"
            ),
        ]

    def __str__(self) -> str:
        return self.name


class Household(models.Model):
    """A household file (一户一档)."""

    number = models.CharField("户编号", max_length=32, unique=True)
    township = models.ForeignKey(
        Area, verbose_name="乡镇", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    village = models.ForeignKey(
        Area, verbose_name="村", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = verbose_name_plural = "家庭户"

    def __str__(self) -> str:
        return self.number


class Person(models.Model):
    """A person, identified by the resident ID number; sex and birth date come from the ID."""

    class Sex(models.TextChoices):
        MALE = "男", "男"
        FEMALE = "女", "女"

    id_no = models.CharField("身份证号", max_length=18, unique=True)
    # The national platform's person number where it differs from the ID (usually it is the ID).
    psn_no = models.CharField("人员编号", max_length=40, null=True, blank=True, unique=True)
    name = models.CharField("姓名", max_length=64)
    sex = models.CharField("性别", max_length=1, choices=Sex.choices, blank=True)
    birth_date = models.DateField("出生日期", null=True, blank=True)
    township = models.ForeignKey(
        Area, verbose_name="乡镇", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    village = models.ForeignKey(
        Area, verbose_name="村", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    household = models.ForeignKey(
        Household,
        verbose_name="家庭户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
    )
    relation = models.CharField("与户主关系", max_length=16, blank=True)
    source = models.CharField("首次来源", max_length=64, blank=True)
    created_at = models.DateTimeField("建档时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        # No index of township's own: its foreign key's index serves every lookup by township,
        # and each index is one more write for every person a list or enrollment file adds.
        verbose_name = verbose_name_plural = "人员"

    def __str__(self) -> str:
        return f"{self.name} {self.id_no[:6]}…"


class DepartmentUpload(models.Model):
    """One list a department sent (RULES §6): the file kept, what it changed, the tagging deadline."""

    department = models.CharField("部门", max_length=16)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="上传人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    received_at = models.DateTimeField("接收时间")
    list_date = models.DateField("名单日期")
    file = models.FileField("原始文件", upload_to="department-lists/%Y/%m/", max_length=255)
    original_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    size = models.BigIntegerField("字节数", default=0)
    sheet = models.CharField("工作表", max_length=64, blank=True)
    header_row = models.PositiveIntegerField("表头行", default=1)
    rows_total = models.PositiveIntegerField("数据行", default=0)
    rows_new = models.PositiveIntegerField("新增", default=0)
    rows_changed = models.PositiveIntegerField("变更", default=0)
    rows_unchanged = models.PositiveIntegerField("未变", default=0)
    rows_rejected = models.PositiveIntegerField("退回", default=0)
    rows_warned = models.PositiveIntegerField("提示", default=0)
    identities_ended = models.PositiveIntegerField("退出", default=0)
    identities_held = models.PositiveIntegerField("因退回暂不退出", default=0)
    persons_created = models.PositiveIntegerField("新建人员", default=0)
    tagging_deadline = models.DateField("标识时限")
    tagged_at = models.DateTimeField("标识完成时间", null=True, blank=True)
    tagged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="标识人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        verbose_name = verbose_name_plural = "部门推送名单"
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["department", "list_date"], name="people_upload_dept_date")]

    def __str__(self) -> str:
        return f"{self.department} {self.list_date} ({self.original_name})"


class Identity(models.Model):
    """A dated identity (人员身份) of a person, as the pushing department recognises it."""

    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="identities"
    )
    name = models.CharField("身份", max_length=32)
    group = models.CharField("类别", max_length=16)
    department = models.CharField("推送部门", max_length=16)
    begin = models.DateField("认定日期")
    end = models.DateField("退出日期", null=True, blank=True)
    source_upload = models.ForeignKey(
        DepartmentUpload,
        verbose_name="来源名单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="identities",
    )
    ended_by = models.ForeignKey(
        DepartmentUpload,
        verbose_name="因未列入而退出的名单",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="ended_identities",
    )
    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "人员身份"
        indexes = [
            models.Index(fields=["department", "end"], name="people_identity_dept_end"),
            models.Index(fields=["begin", "end"], name="people_identity_dates"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end__isnull=True) | Q(end__gte=models.F("begin")),
                name="people_identity_end_after_begin",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} {self.begin}–{self.end or ''}"


class UploadReject(models.Model):
    """A problem found in one row of an upload: rejected, or only a warning."""

    class Level(models.TextChoices):
        REJECT = "reject", "退回"
        WARNING = "warning", "提示"

    upload = models.ForeignKey(DepartmentUpload, on_delete=models.CASCADE, related_name="rejects")
    row = models.PositiveIntegerField("行号")
    column = models.CharField("列", max_length=64)
    value = models.CharField("内容", max_length=255, blank=True)
    reason = models.CharField("原因", max_length=255)
    level = models.CharField("类型", max_length=8, choices=Level.choices, default=Level.REJECT)

    class Meta:
        verbose_name = verbose_name_plural = "名单问题行"
        ordering = ["upload", "row", "id"]

    def __str__(self) -> str:
        return f"row {self.row}: {self.reason}"
