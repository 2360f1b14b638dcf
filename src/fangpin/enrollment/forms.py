"""Forms of the enrollment pages: running a reconciliation, list filters, township feedback."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils import timezone

from fangpin.enrollment.models import Finding, ItemState, UnenrolledFeedback
from fangpin.policy.groups import DEFAULT_ORDER


class RunForm(forms.Form):
    year = forms.IntegerField(label="参保年度", min_value=2000, max_value=2100)
    on = forms.DateField(
        label="核对日期",
        # A date input reads ISO dates only; the Chinese locale's format would leave it blank.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="以此日在册的特殊人群与该年度参保记录核对；同一月份再次核对会更新该月结果。",
    )

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        today = timezone.localdate()
        self.fields["year"].initial = today.year
        self.fields["on"].initial = today


class FeedbackForm(forms.ModelForm):
    class Meta:
        model = UnenrolledFeedback
        fields = ["finding", "note"]
        widgets = {"note": forms.TextInput(attrs={"placeholder": "说明（选“其他”时必填）"})}

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("finding") == Finding.OTHER and not (data.get("note") or "").strip():
            self.add_error("note", "选择“其他”时请写明核查情况。")
        return data


STATE_CHOICES = [("open", "待清零"), ("closed", "已清零"), ("all", "全部")]


class ItemFilter(forms.Form):
    """Filters of the un-enrolled and newborn lists; `years` empty leaves the year out."""

    year = forms.TypedChoiceField(label="年度", required=False, coerce=int, empty_value=None)
    township = forms.ChoiceField(label="乡镇", required=False)
    group = forms.ChoiceField(label="类别", required=False)
    state = forms.ChoiceField(label="状态", required=False, choices=STATE_CHOICES)
    q = forms.CharField(label="姓名", required=False, max_length=64)

    def __init__(self, *args: Any, years: list[int], townships: list[tuple[str, str]], **kw: Any):
        super().__init__(*args, **kw)
        if years:
            self.fields["year"].choices = [(y, f"{y} 年度") for y in years]
        else:
            del self.fields["year"]
        if len(townships) > 1:
            self.fields["township"].choices = [("", "全部"), *townships]
        else:
            # A township cadre has one township: nothing to choose.
            del self.fields["township"]
        self.fields["group"].choices = [("", "全部"), *((g, g) for g in DEFAULT_ORDER)]

    def value(self, name: str, default: Any = None) -> Any:
        if not self.is_bound or not self.is_valid() or name not in self.cleaned_data:
            return default
        return self.cleaned_data[name] or default

    def state_filter(self) -> str | None:
        state = self.value("state", "open")
        return {"open": ItemState.OPEN, "closed": ItemState.CLOSED}.get(state)
