"""The claims ledger: claims, their settlements, person-year accumulators, adjustments, notices.

Append-only design
------------------
A `Claim` is the national platform's settlement input and never changes once written.

A `Settlement` row is one result for a claim. The first is kind ``settle``; a cancellation
(冲销) adds a kind ``cancel`` row carrying the negated amounts and pointing at the row it
cancels through `cancels` (a one-to-one: a settlement is cancelled at most once, enforced by the
database); a re-settlement after a cancellation adds a new ``settle`` row. Nothing is updated
in place, so a claim's *valid* settlement is its ``settle`` row that no ``cancel`` row points
at — at most one per claim (`valid_settlement`). Its state (有效 / 已冲销) is derived, never
stored.

An `Adjustment` (补差) records a later difference found for a valid settlement when a
person-year is re-settled (identities known later, §7; or a cancellation of an earlier claim,
§3). A claim's *current* amounts are its valid settlement plus the adjustments made against
that settlement. An overpaid difference (应退) is recorded the same way so that a re-run does
not find it again, and listed for review (`Overpaid`); nothing is clawed back.

`Accumulator` is the one row that changes: the person-year's running year-to-date amounts, the
lock that serialises settlements of one person (SELECT ... FOR UPDATE). It is a cache: every
field is a sum over the current amounts of the person-year's validly settled claims
(`fangpin.claims.ledger.contribution`), so it can always be recomputed and checked
(`services.rebuild_accumulator`).

`YearSum` is a second cache kept the same way: per person-year and kind of claim, the number
of validly settled claims and the sums of their current amounts (`fangpin.claims.sums`), what a
screening run reads instead of summing millions of claims.

`Notice` items (应享未享待遇补发) carry a workflow state; every move is an appended
`NoticeEvent`.

Money is integer fen everywhere.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

# The national platform's fund codes (基金支付类型) for each tier.
FUND_CODES: dict[str, tuple[str, str]] = {
    "hifp_pay": ("390100", "基本医疗保险统筹基金"),
    "hifmi_pay": ("390200", "大病保险资金"),
    "maf_pay": ("610100", "医疗救助基金"),
    "oth_pay": ("610200", "倾斜救助(再救助)"),
}
TIER_FIELDS: tuple[str, ...] = ("hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
RESULT_FIELDS: tuple[str, ...] = (*TIER_FIELDS, "hosp_part_amt", "fund_pay_sumamt", "psn_part_amt")
CLAIM_AMOUNTS: tuple[str, ...] = (
    "medfee_sumamt",
    "fulamt_ownpay_amt",
    "overlmt_selfpay",
    "preselfpay_amt",
)


def _money(label: str) -> models.BigIntegerField:
    return models.BigIntegerField(label, default=0)


class Institution(models.Model):
    """A designated medical institution (定点医药机构) that settles claims through the API."""

    code = models.CharField("机构编码", max_length=32, unique=True)
    name = models.CharField("机构名称", max_length=128)
    created_at = models.DateTimeField("创建时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "定点医药机构"

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class ApiKey(models.Model):
    """An institution's API key. Only the SHA-256 of the key is kept: the key itself is shown
    once when made. Keys are 256-bit random, so a fast hash is enough (no guessable password
    to stretch) and a lookup costs one indexed query."""

    institution = models.ForeignKey(Institution, on_delete=models.PROTECT, related_name="api_keys")
    prefix = models.CharField("前缀", max_length=12)  # to tell keys apart in lists, not secret
    key_hash = models.CharField("SHA-256", max_length=64, unique=True)
    label = models.CharField("用途", max_length=64, blank=True)
    created_at = models.DateTimeField("创建时间", default=timezone.now)
    revoked_at = models.DateTimeField("吊销时间", null=True, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "接口密钥"

    def __str__(self) -> str:
        return f"{self.institution.code} {self.prefix}…"


class ClaimImport(models.Model):
    """One monthly claims file: what it held, what was new, what was rejected."""

    file_name = models.CharField("文件名", max_length=255)
    sha256 = models.CharField("SHA-256", max_length=64, unique=True)
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    received_at = models.DateTimeField("导入时间", default=timezone.now)
    with_payments = models.BooleanField("含已结算金额", default=False)
    rows_total = models.PositiveIntegerField("数据行", default=0)
    rows_new = models.PositiveIntegerField("新增", default=0)
    rows_known = models.PositiveIntegerField("已有(跳过)", default=0)
    rows_rejected = models.PositiveIntegerField("退回", default=0)

    class Meta:
        verbose_name = verbose_name_plural = "结算数据导入"
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.file_name


class ImportReject(models.Model):
    claim_import = models.ForeignKey(ClaimImport, on_delete=models.CASCADE, related_name="rejects")
    row = models.PositiveIntegerField("行号")
    setl_id = models.CharField("结算号", max_length=64, blank=True)
    reason = models.CharField("原因", max_length=500)

    class Meta:
        verbose_name = verbose_name_plural = "导入退回行"
        ordering = ["claim_import", "row"]


class Claim(models.Model):
    """A settlement claim as the national platform sends it (RULES §3), immutable."""

    class Source(models.TextChoices):
        ONLINE = "online", "联网结算"
        IMPORT = "import", "批量导入"

    setl_id = models.CharField("结算号", max_length=64, unique=True)
    psn_no = models.CharField("人员编号", max_length=40)
    # Whom the year's caps belong to: the ledger person's psn_no (or ID number) when the person
    # is known, so one person's claims under either number share one accumulator.
    person_key = models.CharField("人员主键", max_length=40)
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    setl_date = models.DateField("结算日期")
    med_type = models.PositiveSmallIntegerField("医疗类别")
    hosp_lv = models.PositiveSmallIntegerField("医疗机构等级")
    in_province = models.BooleanField("省内就医", default=True)
    referral = models.BooleanField("规范转诊", default=True)
    medfee_sumamt = _money("医疗费用总额")
    fulamt_ownpay_amt = _money("全自费金额")
    overlmt_selfpay = _money("超限价自费")
    preselfpay_amt = _money("先行自付")
    inscp_scp_amt = _money("政策范围内费用")
    institution = models.ForeignKey(
        Institution, null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    source = models.CharField("来源", max_length=8, choices=Source.choices)
    claim_import = models.ForeignKey(
        ClaimImport, null=True, blank=True, on_delete=models.PROTECT, related_name="claims"
    )
    pack_id = models.CharField("政策包", max_length=64)
    received_at = models.DateTimeField("接收时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "结算单据"
        indexes = [
            models.Index(fields=["person_key", "setl_date"], name="claims_claim_person_date"),
            models.Index(fields=["setl_date"], name="claims_claim_date"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(inscp_scp_amt__gte=0), name="claims_claim_scope_not_negative"
            ),
        ]

    def __str__(self) -> str:
        return self.setl_id

    @property
    def kind(self) -> int:
        """0 general outpatient, 1 chronic outpatient, 2 inpatient (23, 24, 52 count as 21)."""
        return 0 if self.med_type == 11 else 1 if self.med_type == 14 else 2


class Settlement(models.Model):
    """One result for a claim; see the module's docstring for the append-only rules."""

    class Kind(models.TextChoices):
        SETTLE = "settle", "结算"
        CANCEL = "cancel", "冲销"

    class Source(models.TextChoices):
        ONLINE = "online", "联网实时结算"
        BATCH = "batch", "月度批量结算"
        EXTERNAL = "external", "外部已结算"  # paid elsewhere, imported with its amounts

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="settlements")
    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    source = models.CharField("结算方式", max_length=8, choices=Source.choices)
    cancels = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="cancelled_by"
    )
    hifp_pay = _money("基本医保")
    hifmi_pay = _money("大病保险")
    maf_pay = _money("医疗救助")
    oth_pay = _money("倾斜救助")
    hosp_part_amt = _money("医疗机构承担")
    fund_pay_sumamt = _money("基金支付合计")
    psn_part_amt = _money("个人负担")
    group = models.CharField("适用类别", max_length=16, blank=True)
    group_mask = models.IntegerField("身份类别位", default=0)
    identities = models.JSONField("人员身份", default=list, blank=True)
    # The person-year's accumulators just before this claim (ACC_NAMES order): what the bill's
    # basis is computed from. None for amounts paid elsewhere.
    acc_before = models.JSONField("结算前年度累计", null=True, blank=True)
    pack_id = models.CharField("政策包", max_length=64, blank=True)
    reason = models.CharField("说明", max_length=200, blank=True)
    created_at = models.DateTimeField("记录时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "结算结果"
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="settle") & Q(cancels__isnull=True))
                | (Q(kind="cancel") & Q(cancels__isnull=False)),
                name="claims_settlement_cancel_points_back",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.claim_id} {self.kind} #{self.pk}"

    def amounts(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in RESULT_FIELDS}


class Accumulator(models.Model):
    """A person-year's year-to-date amounts (fen), in the engine's ACC_NAMES."""

    person_key = models.CharField("人员主键", max_length=40)
    year = models.PositiveSmallIntegerField("年度")
    paid1 = _money("基本医保已付(住院/慢特病)")
    paid11 = _money("基本医保已付(普通门诊)")
    cum2 = _money("大病保险累计基数")
    paid2 = _money("大病保险已付")
    cum3 = _money("医疗救助累计基数")
    paid3 = _money("医疗救助已付")
    cum4 = _money("倾斜救助累计基数")
    paid4 = _money("倾斜救助已付")
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "年度累计"
        constraints = [
            models.UniqueConstraint(
                fields=["person_key", "year"], name="claims_accumulator_person_year"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_key} {self.year}"


# Kinds of claim as the engine numbers them (RULES §3): 0 general outpatient (11), 1 chronic
# outpatient (14), 2 inpatient (21, 23, 24, 52).
SUM_KINDS: dict[int, str] = {0: "普通门诊", 1: "门诊慢特病", 2: "住院"}
# The amounts a screening sums: the person's burden, the policy scope and each tier's payment.
SUM_AMOUNTS: dict[str, str] = {
    "psn_part_amt": "个人负担",
    "inscp_scp_amt": "政策范围内费用",
    "hifp_pay": "基本医保",
    "hifmi_pay": "大病保险",
    "maf_pay": "医疗救助",
    "oth_pay": "倾斜救助",
}


def sum_column(measure: str, kind: int) -> str:
    """The YearSum column holding `measure` summed over claims of `kind`."""
    return f"{measure}_{kind}"


class YearSum(models.Model):
    """A person-year's validly settled claims summed per kind: n0, n1, n2 claims and, for each
    amount of SUM_AMOUNTS, one column per kind (`sum_column`). Current amounts: a claim's valid
    settlement plus its adjustments; a cancelled claim counts nothing. One row a person-year
    (wide): reading the year is one row a person."""

    person_key = models.CharField("人员主键", max_length=40)
    year = models.PositiveSmallIntegerField("年度")

    class Meta:
        verbose_name = verbose_name_plural = "年度结算汇总"
        constraints = [
            models.UniqueConstraint(
                fields=["year", "person_key"], name="claims_yearsum_year_person"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.person_key} {self.year}"


# The count and sum columns, added in order (n0, psn_part_amt_0, …, n1, …): twenty-one columns
# written out by hand would only invite a typo.
for _kind, _kind_name in SUM_KINDS.items():
    YearSum.add_to_class(f"n{_kind}", models.IntegerField(f"{_kind_name}单据数", default=0))
    for _measure, _label in SUM_AMOUNTS.items():
        YearSum.add_to_class(sum_column(_measure, _kind), _money(f"{_kind_name}{_label}"))


class ResettleRun(models.Model):
    """One re-settlement of person-years: a missed-benefits run, or the recompute of the year's
    later claims after a cancellation or a re-settlement."""

    class Kind(models.TextChoices):
        MISSED = "missed", "应享未享核查"
        CANCEL = "cancel", "冲销后重算"
        RESETTLE = "resettle", "重新结算后重算"

    kind = models.CharField("类型", max_length=8, choices=Kind.choices)
    year = models.PositiveSmallIntegerField("年度")
    pack_id = models.CharField("政策包", max_length=64)
    started_at = models.DateTimeField("开始时间", default=timezone.now)
    person_years = models.PositiveIntegerField("人年数", default=0)
    claims = models.PositiveIntegerField("单据数", default=0)
    adjustments = models.PositiveIntegerField("补差笔数", default=0)
    notices = models.PositiveIntegerField("下发通知", default=0)
    due_total = _money("应补合计")
    overpaid_total = _money("应退合计")

    class Meta:
        verbose_name = verbose_name_plural = "重新结算批次"
        ordering = ["-started_at"]


class Adjustment(models.Model):
    """A difference (补差) for a valid settlement: the re-settled amounts minus the current ones."""

    claim = models.ForeignKey(Claim, on_delete=models.PROTECT, related_name="adjustments")
    settlement = models.ForeignKey(Settlement, on_delete=models.PROTECT, related_name="adjustments")
    run = models.ForeignKey(ResettleRun, on_delete=models.PROTECT, related_name="adjustment_rows")
    hifp_pay = _money("基本医保差额")
    hifmi_pay = _money("大病保险差额")
    maf_pay = _money("医疗救助差额")
    oth_pay = _money("倾斜救助差额")
    hosp_part_amt = _money("医疗机构承担差额")
    fund_pay_sumamt = _money("基金支付差额")
    psn_part_amt = _money("个人负担差额")
    group = models.CharField("重算适用类别", max_length=16, blank=True)
    created_at = models.DateTimeField("记录时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "补差"

    def amounts(self) -> dict[str, int]:
        return {f: getattr(self, f) for f in RESULT_FIELDS}

    @property
    def due(self) -> int:
        """What the person paid too much (positive, 应补) or too little (negative, 应退)."""
        return -self.psn_part_amt


class Notice(models.Model):
    """A due amount above the pack's threshold, on the person's township's list (RULES §7)."""

    class State(models.TextChoices):
        PENDING = "待下放", "待下放"
        DISPATCHED = "已下放", "已下放"
        RECEIVED = "已接收", "已接收"
        NOTIFIED = "已通知", "已通知"
        PAID = "已支付", "已支付"

    run = models.ForeignKey(ResettleRun, on_delete=models.PROTECT, related_name="notice_rows")
    person = models.ForeignKey(
        "people.Person", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    person_key = models.CharField("人员主键", max_length=40)
    year = models.PositiveSmallIntegerField("年度")
    township = models.ForeignKey(
        "people.Area", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    amount = _money("应补金额")
    state = models.CharField("状态", max_length=4, choices=State.choices, default=State.PENDING)
    created_at = models.DateTimeField("生成时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "应享未享补发通知"
        indexes = [models.Index(fields=["township", "state"], name="claims_notice_township_state")]
        constraints = [
            # One notice per person-year and run: a run finds each person-year's due once.
            models.UniqueConstraint(
                fields=["run", "person_key", "year"], name="claims_notice_once_per_run"
            ),
        ]


class NoticeEvent(models.Model):
    notice = models.ForeignKey(Notice, on_delete=models.PROTECT, related_name="events")
    from_state = models.CharField("原状态", max_length=4)
    to_state = models.CharField("新状态", max_length=4)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    username = models.CharField("操作人", max_length=150, blank=True)
    note = models.CharField("备注", max_length=200, blank=True)
    at = models.DateTimeField("时间", default=timezone.now)

    class Meta:
        verbose_name = verbose_name_plural = "通知流转记录"
        ordering = ["notice", "at", "id"]


class Overpaid(models.Model):
    """A person-year paid more than re-settlement gives (应退): listed for review only."""

    run = models.ForeignKey(ResettleRun, on_delete=models.PROTECT, related_name="overpaid_rows")
    person_key = models.CharField("人员主键", max_length=40)
    year = models.PositiveSmallIntegerField("年度")
    amount = _money("应退金额")
    reviewed_at = models.DateTimeField("复核时间", null=True, blank=True)
    reviewed_by = models.CharField("复核人", max_length=150, blank=True)
    note = models.CharField("复核意见", max_length=200, blank=True)

    class Meta:
        verbose_name = verbose_name_plural = "应退复核"
        constraints = [
            models.UniqueConstraint(
                fields=["run", "person_key", "year"], name="claims_overpaid_once_per_run"
            ),
        ]
