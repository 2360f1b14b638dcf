"""The JSON API's request and response bodies, in the national platform's field names.

Amounts come in as yuan (a JSON string such as "1234.50", or a number) with at most two
decimals and go out as yuan strings with exactly two decimals; inside they are integer fen.

They are plain pydantic models rather than django-ninja's `Schema`: the bodies are JSON objects
and dicts, never model instances, so `Schema`'s attribute lookup (a wrapper validator run on every
nested model) buys nothing, and it was a tenth of a settlement's time. django-ninja takes either,
and the OpenAPI document is the same.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, Field, StringConstraints, field_validator

Yuan = Annotated[
    Decimal, Field(ge=0, max_digits=15, decimal_places=2, description="元,最多两位小数")
]
YuanOut = Annotated[str, Field(description="元,两位小数", examples=["1234.50"])]
Text40 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=40)]
Text64 = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]


class ClaimIn(BaseModel):
    """One claim to settle (RULES §3)."""

    setl_id: Text64 = Field(description="结算号(同一结算号重复提交返回首次结果)")
    psn_no: Text40 = Field(description="人员编号或公民身份号码")
    setl_date: dt.date = Field(description="结算日期 YYYY-MM-DD")
    med_type: Literal["11", "14", "21", "23", "24", "52"] = Field(
        description="医疗类别:11 普通门诊,14 门诊慢特病,21 住院(23、24、52 按住院)"
    )
    hosp_lv: int = Field(ge=1, le=4, description="医疗机构等级:1 乡镇,2 县级,3 市级,4 省级")
    in_province: bool = Field(True, description="省内就医")
    referral: bool = Field(True, description="规范转诊")
    medfee_sumamt: Yuan = Field(description="医疗费用总额")
    fulamt_ownpay_amt: Yuan = Field(Decimal(0), description="全自费金额")
    overlmt_selfpay: Yuan = Field(Decimal(0), description="超限价自费")
    preselfpay_amt: Yuan = Field(Decimal(0), description="先行自付")
    dry_run: bool = Field(False, description="预结算:计算但不记账")

    @field_validator("med_type", mode="before")
    @classmethod
    def _code_as_text(cls, v: Any) -> Any:
        return str(v) if isinstance(v, int) and not isinstance(v, bool) else v


class CancelIn(BaseModel):
    reason: str = Field("", max_length=200, description="冲销原因")


class FundDetail(BaseModel):
    """One fund's payment, as the national platform's setldetail."""

    fund_pay_type: str = Field(
        description="基金支付类型:390100 基本医保,390200 大病保险,610100 医疗救助,610200 倾斜救助"
    )
    fund_pay_type_name: str
    fund_payamt: YuanOut


class Band(BaseModel):
    from_: YuanOut | None = Field(None, alias="from")
    to: YuanOut | None = None
    ratio: str


class TierBasis(BaseModel):
    name: str
    fund_pay_type: str
    applies: bool
    note: str = ""
    result: YuanOut | None = None
    base: YuanOut | None = Field(None, description="本次计算基数")
    deductible: YuanOut | None = Field(None, description="起付线(住院按次;其余按年)")
    cap: YuanOut | None = Field(None, description="年度限额;null 为无封顶")
    paid_before: YuanOut | None = Field(None, description="本年此前已支付")
    ratio: str | None = None
    bands: list[Band] = []
    cum_before: YuanOut | None = None
    cum_after: YuanOut | None = None
    due_before: YuanOut | None = Field(None, description="按此前年度累计应付")
    due_after: YuanOut | None = Field(None, description="按本次后年度累计应付")


class Bill(BaseModel):
    """The settlement bill (结算单): each tier's basis and what the person pays."""

    policy: str
    group: str | None
    identities: list[str]
    medfee_sumamt: YuanOut
    fulamt_ownpay_amt: YuanOut
    overlmt_selfpay: YuanOut
    preselfpay_amt: YuanOut
    inscp_scp_amt: YuanOut
    tiers: list[TierBasis]
    out_of_catalogue: str | None
    hosp_part_amt: YuanOut
    fund_pay_sumamt: YuanOut
    psn_part_amt: YuanOut


class SettlementOut(BaseModel):
    setl_id: str
    psn_no: str
    setl_date: dt.date
    med_type: str
    fixmedins_code: str | None = Field(None, description="定点医药机构编码")
    state: Literal["valid", "cancelled", "preview"] = Field(
        description="valid 有效,cancelled 已冲销,preview 预结算"
    )
    medfee_sumamt: YuanOut
    inscp_scp_amt: YuanOut
    hifp_pay: YuanOut
    hifmi_pay: YuanOut
    maf_pay: YuanOut
    oth_pay: YuanOut
    hosp_part_amt: YuanOut
    fund_pay_sumamt: YuanOut
    psn_part_amt: YuanOut
    group: str | None = Field(None, description="适用类别")
    setldetail: list[FundDetail]
    adjusted: dict[str, YuanOut] | None = Field(None, description="含补差后的现金额(有补差时)")
    pack_id: str
    settled_at: dt.datetime | None = None
    bill: Bill


class AccumulatorOut(BaseModel):
    psn_no: str
    year: int
    paid1: YuanOut = Field(description="基本医保已付(住院、门诊慢特病,共用年度限额)")
    paid11: YuanOut = Field(description="基本医保已付(普通门诊)")
    cum2: YuanOut = Field(description="大病保险年度累计基数")
    paid2: YuanOut = Field(description="大病保险已付")
    cum3: YuanOut = Field(description="医疗救助年度累计基数")
    paid3: YuanOut = Field(description="医疗救助已付")
    cum4: YuanOut = Field(description="倾斜救助年度累计基数")
    paid4: YuanOut = Field(description="倾斜救助已付")


class Problem(BaseModel):
    detail: str
