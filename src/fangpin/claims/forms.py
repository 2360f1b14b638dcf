"""Forms of the claims pages: the settlement search, the notice and overpaid lists' filters, the
notice workflow's step and the overpaid review."""

from __future__ import annotations

from typing import Any

from django import forms

from fangpin.claims.models import Claim, Institution, Notice
from fangpin.policy.groups import DEFAULT_ORDER

# RULES §3: 11 general outpatient, 14 chronic outpatient, 21 inpatient; 23, 24, 52 count as 21.
MED_TYPES: tuple[tuple[int, str], ...] = (
    (11, "普通门诊"),
    (14, "门诊慢特病"),
    (21, "住院"),
    (23, "住院(23)"),
    (24, "住院(24)"),
    (52, "住院(52)"),
)
MED_TYPE_NAME: dict[int, str] = dict(MED_TYPES)
NO_GROUP = "none"  # the search's choice for claims settled without any group (普通参保人员)


def _date(label: str) -> forms.DateField:
    # A date input reads ISO dates only; the Chinese locale's format would leave it blank.
    return forms.DateField(
        label=label,
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )


def _township_field(form: forms.Form, townships: list[tuple[str, str]]) -> None:
    if len(townships) > 1:
        form.fields["township"].choices = [("", "全部"), *townships]
    else:
        # A township cadre has one township: nothing to choose.
        del form.fields["township"]


class ClaimFilter(forms.Form):
    setl_id = forms.CharField(label="结算号", required=False, max_length=64)
    person = forms.CharField(
        label="姓名或身份证号",
        required=False,
        max_length=64,
        widget=forms.TextInput(attrs={"placeholder": "完整姓名或证件号码"}),
    )
    date_from = _date("结算日期自")
    date_to = _date("至")
    med_type = forms.TypedChoiceField(
        label="医疗类别",
        required=False,
        coerce=int,
        empty_value=None,
        choices=[("", "全部"), *MED_TYPES],
    )
    institution = forms.ChoiceField(label="医疗机构", required=False)
    source = forms.ChoiceField(
        label="来源", required=False, choices=[("", "全部"), *Claim.Source.choices]
    )
    group = forms.ChoiceField(
        label="适用类别",
        required=False,
        choices=[("", "全部"), *((g, g) for g in DEFAULT_ORDER), (NO_GROUP, "普通参保人员")],
    )
    township = forms.ChoiceField(label="乡镇", required=False)
    # Set by links from elsewhere (the person file): /claims/?psn=<psn_no or ID number>.
    psn = forms.CharField(label="人员编号", required=False, max_length=40, widget=forms.HiddenInput)

    def __init__(self, *args: Any, townships: list[tuple[str, str]], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["institution"].choices = [
            ("", "全部"),
            *Institution.objects.order_by("code").values_list("code", "name"),
        ]
        _township_field(self, townships)

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        for name in ("setl_id", "person", "psn"):
            data[name] = (data.get(name) or "").strip()
        if data["person"][-1:] == "x":
            data["person"] = data["person"][:-1] + "X"  # ID numbers end in an upper-case X
        lo, hi = data.get("date_from"), data.get("date_to")
        if lo and hi and lo > hi:
            self.add_error("date_to", "结束日期早于开始日期。")
        return data


class NoticeFilter(forms.Form):
    state = forms.ChoiceField(
        label="状态",
        required=False,
        choices=[("", "全部"), *Notice.State.choices],
    )
    year = forms.TypedChoiceField(label="年度", required=False, coerce=int, empty_value=None)
    township = forms.ChoiceField(label="乡镇", required=False)

    def __init__(
        self, *args: Any, townships: list[tuple[str, str]], years: list[int], **kwargs: Any
    ):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "全部"), *((y, f"{y} 年度") for y in years)]
        _township_field(self, townships)


class NoticeMoveForm(forms.Form):
    to_state = forms.ChoiceField(
        label="操作",
        choices=Notice.State.choices,
        error_messages={"invalid_choice": "未知的办理状态“%(value)s”。"},
    )
    note = forms.CharField(label="备注", required=False, max_length=200)


class OverpaidFilter(forms.Form):
    year = forms.TypedChoiceField(label="年度", required=False, coerce=int, empty_value=None)
    reviewed = forms.ChoiceField(
        label="复核",
        required=False,
        choices=[("", "全部"), ("no", "未复核"), ("yes", "已复核")],
    )

    def __init__(self, *args: Any, years: list[int], **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["year"].choices = [("", "全部"), *((y, f"{y} 年度") for y in years)]


class ReviewForm(forms.Form):
    note = forms.CharField(
        label="复核意见",
        required=False,
        max_length=200,
        widget=forms.TextInput(attrs={"placeholder": "复核意见（可不填）"}),
    )
