"""Enrollment records, reconciliation runs, un-enrolled items and newborn items (RULES §2, §5)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q

from fangpin.people.models import Area, Person


class Insutype(models.TextChoices):
    RESIDENT = "居民", "城乡居民医保"
    EMPLOYEE = "职工", "职工医保"
    ELSEWHERE = "异地", "异地参保"


class StopReason(models.TextChoices):
    NONE = "", "无"
    DEATH = "死亡", "死亡"
    PRISON = "服刑", "服刑"


class Status(models.TextChoices):
    """One enrollment status per person of the special population (RULES §5)."""

    RESIDENT = "已参保(居民)", "已参保(居民)"
    EMPLOYEE = "已参保(职工)", "已参保(职工)"
    ELSEWHERE = "异地参保", "异地参保"
    NOT_ENROLLED = "未参保", "未参保"
    DEATH = "死亡", "死亡"
    PRISON = "服刑", "服刑"
    INVALID_ID = "身份证号无效", "身份证号无效"
    DUPLICATE = "重复", "重复"


class ItemState(models.TextChoices):
    OPEN = "open", "待清零"
    CLOSED = "closed", "已清零"


class EnrollmentImport(models.Model):
    """One enrollment file imported (from the tax bureau or the insurance system)."""

    year = models.PositiveSmallIntegerField("年度")
    original_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64)
    imported_at = models.DateTimeField("导入时间", auto_now_add=True)
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    rows_total = models.PositiveIntegerField("数据行", default=0)
    rows_new = models.PositiveIntegerField("新增", default=0)
    rows_changed = models.PositiveIntegerField("变更", default=0)
    rows_unchanged = models.PositiveIntegerField("未变", default=0)
    rows_rejected = models.PositiveIntegerField("退回", default=0)
    persons_created = models.PositiveIntegerField("新建人员", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "参保数据导入"
        constraints = [
            models.UniqueConstraint(fields=["year", "sha256"], name="enrollment_import_once")
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.original_name}"


class EnrollmentRecord(models.Model):
    """A person's enrollment for a year; the subsidy and the group used are stored on it."""

    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="enrollments"
    )
    year = models.PositiveSmallIntegerField("年度")
    insutype = models.CharField("参保类型", max_length=4, choices=Insutype.choices)
    tier = models.CharField("档次", max_length=16, blank=True)
    paid_date = models.DateField("缴费日期", null=True, blank=True)
    stop_reason = models.CharField(
        "停保原因", max_length=4, choices=StopReason.choices, blank=True, default=""
    )
    # The same person, year, type and payment date is the same record, whatever file says it.
    row_key = models.CharField(max_length=32)
    subsidy = models.BigIntegerField("资助金额(分)", default=0)
    subsidy_group = models.CharField("资助类别", max_length=16, blank=True)
    subsidy_pack = models.CharField("资助政策", max_length=64, blank=True)
    source = models.ForeignKey(
        EnrollmentImport,
        verbose_name="来源",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="records",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "参保记录"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "year", "row_key"], name="enrollment_record_unique"
            ),
            models.CheckConstraint(
                condition=Q(subsidy__gte=0), name="enrollment_subsidy_not_negative"
            ),
        ]
        indexes = [models.Index(fields=["year", "insutype"], name="enrollment_year_type")]

    def __str__(self) -> str:
        return f"{self.year} {self.insutype} {self.paid_date or ''}"


class ReconciliationRun(models.Model):
    """One month's reconciliation of the special population for a year (re-runs update it)."""

    year = models.PositiveSmallIntegerField("年度")
    month = models.DateField("月份")  # first day of the month
    as_of = models.DateField("核对日期")
    pack = models.CharField("政策", max_length=64, blank=True)
    run_at = models.DateTimeField("运行时间")
    run_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    runs = models.PositiveIntegerField("运行次数", default=1)
    persons = models.PositiveIntegerField("特殊人群人数", default=0)
    counts = models.JSONField("各状态人数", default=dict)
    items_opened = models.PositiveIntegerField("新推送", default=0)
    items_closed = models.PositiveIntegerField("已清零", default=0)
    newborns_opened = models.PositiveIntegerField("新生儿新推送", default=0)
    newborns_closed = models.PositiveIntegerField("新生儿已清零", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "参保核对"
        constraints = [
            models.UniqueConstraint(fields=["year", "month"], name="enrollment_run_per_month")
        ]

    def __str__(self) -> str:
        return f"{self.year} {self.month:%Y-%m}"


class UnenrolledItem(models.Model):
    """A special person found without enrollment, pushed to the township until cleared (清零)."""

    person = models.ForeignKey(
        Person, verbose_name="人员", on_delete=models.PROTECT, related_name="unenrolled_items"
    )
    year = models.PositiveSmallIntegerField("年度")
    township = models.ForeignKey(
        Area, verbose_name="乡镇", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    group = models.CharField("类别", max_length=16, blank=True)
    month = models.DateField("推送月份")
    opened_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.PROTECT, related_name="opened_items"
    )
    state = models.CharField(
        "状态", max_length=8, choices=ItemState.choices, default=ItemState.OPEN
    )
    closed_on = models.DateField("清零日期", null=True, blank=True)
    closed_run = models.ForeignKey(
        ReconciliationRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closed_items",
    )
    closed_status = models.CharField("清零时状态", max_length=16, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "未参保人员"
        constraints = [
            models.UniqueConstraint(
                fields=["person", "year"],
                condition=Q(state="open"),
                name="enrollment_one_open_item",
            )
        ]
        indexes = [models.Index(fields=["year", "state", "township"], name="enrollment_item_state")]

    def __str__(self) -> str:
        return f"{self.person} {self.year} {self.state}"


class NewbornItem(models.Model):
    """A baby without enrollment after the newborn window (RULES §5), pushed to the township."""

    id_no = models.CharField("身份证号/人员编号", max_length=40, unique=True)
    name = models.CharField("姓名", max_length=64)
    birth_date = models.DateField("出生日期")
    township = models.ForeignKey(
        Area, verbose_name="乡镇", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    township_text = models.CharField("乡镇(原文)", max_length=64, blank=True)
    due_date = models.DateField("应参保日期")
    month = models.DateField("推送月份")
    opened_run = models.ForeignKey(
        ReconciliationRun, on_delete=models.PROTECT, related_name="opened_newborns"
    )
    state = models.CharField(
        "状态", max_length=8, choices=ItemState.choices, default=ItemState.OPEN
    )
    closed_on = models.DateField("清零日期", null=True, blank=True)
    closed_run = models.ForeignKey(
        ReconciliationRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="closed_newborns",
    )

    class Meta:
        verbose_name = verbose_name_plural = "未参保新生儿"

    def __str__(self) -> str:
        return f"{self.name} {self.birth_date}"


class Finding(models.TextChoices):
    """What a township found when it went to see an un-enrolled person."""

    MOBILISED = "已动员参保", "已动员参保"
    OTHER_PROVINCE = "外省参保", "外省参保"
    DEATH = "死亡", "死亡"
    PRISON = "服刑", "服刑"
    REFUSED = "拒绝参保", "拒绝参保"
    OTHER = "其他", "其他"


class UnenrolledFeedback(models.Model):
    """A township's feedback on an un-enrolled item. It never closes the item: only the next
    reconciliation does, once the records show the person enrolled (or dead, or in prison) —
    feedback says what to expect there and why the item may stay open."""

    item = models.ForeignKey(
        UnenrolledItem, verbose_name="未参保人员", on_delete=models.PROTECT, related_name="feedback"
    )
    finding = models.CharField("核查情况", max_length=8, choices=Finding.choices)
    note = models.CharField("说明", max_length=500, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="反馈人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField("反馈时间", auto_now_add=True)

    class Meta:
        verbose_name = verbose_name_plural = "未参保核查反馈"
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.item_id} {self.finding}"
