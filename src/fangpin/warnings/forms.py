"""Forms of the case page: visit, measure, feedback, close. Amounts are typed in yuan."""

from __future__ import annotations

from django import forms
from django.utils import timezone

from fangpin.units import UnitError, yuan_to_fen
from fangpin.warnings.models import Finding, MeasureKind

# ISO dates: a browser's <input type="date"> accepts no other value (the zh-hans locale would
# otherwise render 2026/12/02 and the box would come up empty).
DATE = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class VisitForm(forms.Form):
    date = forms.DateField(label="核查日期", widget=DATE, initial=timezone.localdate)
    finding = forms.ChoiceField(label="核查结论", choices=Finding.choices)
    visitor = forms.CharField(label="核查人", max_length=64, required=False)
    note = forms.CharField(
        label="核查情况", required=False, widget=forms.Textarea(attrs={"rows": 3})
    )
    photo = forms.FileField(label="签字核查表照片（JPEG/PNG）", required=False)


class MeasureForm(forms.Form):
    kind = forms.ChoiceField(label="帮扶措施", choices=MeasureKind.choices)
    date = forms.DateField(label="日期", widget=DATE, initial=timezone.localdate)
    amount = forms.CharField(label="金额（元，可不填）", required=False, max_length=20)
    note = forms.CharField(label="说明", required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def clean_amount(self) -> int | None:
        text = (self.cleaned_data.get("amount") or "").strip()
        if not text:
            return None
        try:
            return yuan_to_fen(text)
        except UnitError as exc:
            raise forms.ValidationError(f"金额有误：{exc}") from None


class FeedbackForm(forms.Form):
    text = forms.CharField(label="反馈内容", widget=forms.Textarea(attrs={"rows": 3}))
    date = forms.DateField(label="反馈日期", widget=DATE, initial=timezone.localdate)


class CloseForm(forms.Form):
    feedback = forms.CharField(
        label="办结反馈（尚无反馈时必填）", required=False, widget=forms.Textarea(attrs={"rows": 2})
    )
