"""Screening runs, warning cases and their follow-up (RULES §4; seed 000: 三色预警, 一户一档).

A `ScreeningRun` is one screening on a date with a region pack: it records what it found
(`RunFlag`, one row per flagged person and rule) and what it changed. A `Case` is the follow-up
of one person under one rule in one year: opened by the first run that flags the person,
escalated (same case: new level, new deadline) when a later run finds a higher level, never
downgraded, never duplicated — at most one open case per person, rule and year, which the
database enforces with a conditional unique constraint. A closed case stays closed; a person
who later crosses a level above the closed case's gets a new case pointing back at it.

The case moves 待核查 → 已核查 → 帮扶中 → 已办结 (a visit that finds no risk may close it from
已核查 with feedback). Visits, measures and feedback are kept as rows; every change of a case is
an appended `CaseEvent` with who and when. Money is integer fen.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q

from fangpin.people.models import Area, Household, Person


class State(models.TextChoices):
    PENDING = "待核查", "待核查"
    VERIFIED = "已核查", "已核查"
    ASSISTING = "帮扶中", "帮扶中"
    CLOSED = "已办结", "已办结"


class Finding(models.TextChoices):
    RISK = "有风险", "有风险"
    NO_RISK = "无风险", "无风险"


class MeasureKind(models.TextChoices):
    MEDICAL_ASSISTANCE = "医疗救助", "医疗救助"
    TEMPORARY_ASSISTANCE = "临时救助", "临时救助"
    DIBAO = "纳入低保", "纳入低保"
    MONITORING = "纳入监测", "纳入监测"
    CHARITY = "慈善帮扶", "慈善帮扶"
    COMMERCIAL_INSURANCE = "商业保险", "商业保险"
    OTHER = "其他", "其他"


class Change(models.TextChoices):
    """What a run did with a flagged person's case."""

    NEW = "新增", "新增"
    ESCALATED = "升级", "升级"
    UNCHANGED = "持续", "持续"
    # The person's case of the year is closed at this level or a higher one: nothing to do.
    CLOSED = "已办结", "已办结"


class ScreeningRun(models.Model):
    class Source(models.TextChoices):
        LEDGER = "ledger", "结算台账"
        GIVEN = "given", "调用方提供"

    date = models.DateField("筛查日期")
    year = models.PositiveSmallIntegerField("年度")
    pack_id = models.CharField("政策包", max_length=64)
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="执行人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    started_at = models.DateTimeField("开始时间")
    finished_at = models.DateTimeField("完成时间")
    source = models.CharField("结算数据来源", max_length=8, choices=Source.choices)
    claims = models.PositiveIntegerField("结算单据数", default=0)
    flagged = models.PositiveIntegerField("预警人次", default=0)
    new_cases = models.PositiveIntegerField("新增", default=0)
    escalated = models.PositiveIntegerField("升级", default=0)
    unchanged = models.PositiveIntegerField("未变", default=0)
    unmatched = models.PositiveIntegerField("人员台账未登记", default=0)
    # [{"rule": id, "name": 名称, "levels": [[level, n], ...]}, ...] in the pack's order.
    counts = models.JSONField("分规则分级人数", default=list)

    class Meta:
        verbose_name = verbose_name_plural = "筛查批次"
        ordering = ["-started_at", "-id"]
        indexes = [models.Index(fields=["date"], name="warnings_run_date")]

    def __str__(self) -> str:
        return f"{self.date} {self.pack_id} #{self.pk}"


class Case(models.Model):
    # A first run of the year writes tens of thousands of cases in one transaction, from ids it
    # has just read in that transaction; checking each reference again at commit (a row lock on
    # the person, household, township, village and run per case) took most of the run. So the
    # references below have no database-level foreign keys (as RunFlag's): Django still joins
    # on them and still refuses to delete a person, household, area or run a case points at,
    # and nothing deletes those rows behind its back.
    # The key the screening sums on: the ledger person's psn_no, or their ID number (the same
    # key the claims ledger files a person's claims under). Kept even when the person is not in
    # the people ledger yet, so such a warning is not lost.
    psn_no = models.CharField("人员编号", max_length=40)
    person = models.ForeignKey(
        Person,
        verbose_name="人员",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="warning_cases",
        db_constraint=False,
    )
    # Where the person lived when the case opened: the township that must visit. Households
    # are never looked up from here (a household's file goes through its people): no index.
    household = models.ForeignKey(
        Household,
        verbose_name="家庭户",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="warning_cases",
        db_constraint=False,
        db_index=False,
    )
    # Indexed by warnings_case_town_state, whose first column it is.
    township = models.ForeignKey(
        Area,
        verbose_name="乡镇",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    # Never filtered on alone: no index of its own (each index slows the first run's insert).
    village = models.ForeignKey(
        Area,
        verbose_name="村",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    rule = models.CharField("预警规则", max_length=64)
    rule_name = models.CharField("规则名称", max_length=64, blank=True)
    year = models.PositiveSmallIntegerField("年度")
    level = models.CharField("预警等级", max_length=16)
    # 1 for a rule's lowest level, rising: a higher rank escalates, a lower one never downgrades.
    level_rank = models.PositiveSmallIntegerField("等级序号")
    level_since = models.DateField("本等级起始筛查日期")
    amount_opened = models.BigIntegerField("开案时金额(分)")
    amount_latest = models.BigIntegerField("最新金额(分)")
    amount_date = models.DateField("最新金额筛查日期")
    deadline = models.DateField("处置时限")
    state = models.CharField("状态", max_length=4, choices=State.choices, default=State.PENDING)
    opened_at = models.DateTimeField("开案时间")
    # A run's cases are found through its flags (RunFlag.run), never through this: no index.
    opened_run = models.ForeignKey(
        ScreeningRun,
        verbose_name="开案批次",
        on_delete=models.PROTECT,
        related_name="opened_cases",
        db_constraint=False,
        db_index=False,
    )
    escalations = models.PositiveSmallIntegerField("升级次数", default=0)
    escalated_at = models.DateTimeField("最近升级时间", null=True, blank=True)
    closed_at = models.DateTimeField("办结时间", null=True, blank=True)
    previous = models.ForeignKey(
        "self",
        verbose_name="此前已办结的预警",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        verbose_name = verbose_name_plural = "预警案件"
        ordering = ["deadline", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["psn_no", "rule", "year"],
                condition=~Q(state="已办结"),
                name="warnings_case_one_open_per_psn_rule_year",
            ),
            models.UniqueConstraint(
                fields=["person", "rule", "year"],
                condition=~Q(state="已办结") & Q(person__isnull=False),
                name="warnings_case_one_open_per_person_rule_year",
            ),
            models.CheckConstraint(
                condition=Q(state__in=["待核查", "已核查", "帮扶中", "已办结"]),
                name="warnings_case_state_known",
            ),
            models.CheckConstraint(
                condition=Q(level_rank__gte=1), name="warnings_case_rank_positive"
            ),
        ]
        # No index on (year, rule, psn_no): a run reads the whole year's cases at once, and each
        # index costs a county's first run about half a second more.
        indexes = [
            models.Index(fields=["township", "state", "deadline"], name="warnings_case_town_state"),
        ]

    def __str__(self) -> str:
        return f"{self.psn_no[:6]}… {self.rule} {self.year} {self.level} {self.state}"

    @property
    def is_open(self) -> bool:
        return self.state != State.CLOSED


class RunFlag(models.Model):
    """One flagged person and rule in a run: the list pushed to departments comes from these."""

    # No database-level foreign keys: a run writes tens of thousands of these in the same
    # transaction as the cases they point at, from ids it has just read, and checking each one
    # again at commit cost a county-size run seconds. Django still joins and cascades on them.
    # Indexed by warnings_flag_run_rule, whose first column it is.
    run = models.ForeignKey(
        ScreeningRun,
        on_delete=models.CASCADE,
        related_name="flags",
        db_constraint=False,
        db_index=False,
    )
    case = models.ForeignKey(
        Case, on_delete=models.DO_NOTHING, related_name="flags", db_constraint=False
    )
    rule = models.CharField("预警规则", max_length=64)
    level = models.CharField("预警等级", max_length=16)
    amount = models.BigIntegerField("金额(分)")
    deadline = models.DateField("处置时限")
    change = models.CharField("本次变化", max_length=4, choices=Change.choices)

    class Meta:
        verbose_name = verbose_name_plural = "筛查结果"
        indexes = [models.Index(fields=["run", "rule"], name="warnings_flag_run_rule")]


class Visit(models.Model):
    """A household visit (入户核查) and what it found; the signed form may be photographed."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="visits")
    date = models.DateField("核查日期")
    visitor = models.CharField("核查人", max_length=64, blank=True)
    finding = models.CharField("核查结论", max_length=4, choices=Finding.choices)
    note = models.TextField("核查情况", blank=True)
    form_photo = models.FileField(
        "签字核查表照片", upload_to="visit-forms/%Y/%m/", blank=True, max_length=255
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="录入人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField("录入时间")

    class Meta:
        verbose_name = verbose_name_plural = "入户核查"
        ordering = ["date", "id"]


class Measure(models.Model):
    """An assistance measure (帮扶措施) taken for a case."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="measures")
    kind = models.CharField("措施", max_length=8, choices=MeasureKind.choices)
    amount = models.BigIntegerField("金额(分)", null=True, blank=True)
    date = models.DateField("日期")
    note = models.TextField("说明", blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="录入人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField("录入时间")

    class Meta:
        verbose_name = verbose_name_plural = "帮扶措施"
        ordering = ["date", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(amount__isnull=True) | Q(amount__gte=0),
                name="warnings_measure_amount_not_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=[k.value for k in MeasureKind]),
                name="warnings_measure_kind_known",
            ),
        ]


class Feedback(models.Model):
    """The township's feedback on a case (帮扶反馈), required before it is closed."""

    case = models.ForeignKey(Case, on_delete=models.PROTECT, related_name="feedback")
    text = models.TextField("反馈内容")
    date = models.DateField("反馈日期")
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="反馈人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    recorded_at = models.DateTimeField("录入时间")

    class Meta:
        verbose_name = verbose_name_plural = "帮扶反馈"
        ordering = ["date", "id"]


class CaseEvent(models.Model):
    """One change of a case, appended and never edited: who, when, from and to, what."""

    class Action(models.TextChoices):
        OPEN = "开案", "开案"
        ESCALATE = "升级", "升级"
        VISIT = "核查", "核查"
        MEASURE = "帮扶措施", "帮扶措施"
        FEEDBACK = "反馈", "反馈"
        MOVE = "状态变更", "状态变更"
        PHOTO = "核查表照片", "核查表照片"

    # Written by a run for each case it opens or escalates, in the transaction that writes the
    # case: no database-level foreign keys to the case and the run (see Case). Events are read
    # per case, through warnings_event_case_at; the run and the user are looked up from an
    # event, never the other way round, so neither gets an index.
    case = models.ForeignKey(
        Case,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    run = models.ForeignKey(
        ScreeningRun,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="events",
        db_constraint=False,
        db_index=False,
    )
    at = models.DateTimeField("时间")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name="操作人",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        db_index=False,
    )
    # The name as it was then: it survives the account being renamed or removed.
    username = models.CharField("操作人账号", max_length=150, blank=True)
    action = models.CharField("操作", max_length=8, choices=Action.choices)
    from_state = models.CharField("原状态", max_length=4, blank=True)
    to_state = models.CharField("新状态", max_length=4, blank=True)
    from_level = models.CharField("原等级", max_length=16, blank=True)
    to_level = models.CharField("新等级", max_length=16, blank=True)
    what = models.CharField("内容", max_length=500, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "预警案件记录"
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["case", "at"], name="warnings_event_case_at")]

    def save(self, *args: Any, **kwargs: Any) -> None:
        # A history that can be rewritten proves nothing: events are only ever added.
        if self.pk is not None:
            raise ValueError("case events cannot be changed")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any):
        raise ValueError("case events cannot be deleted")
