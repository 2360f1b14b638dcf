"""Forms of the people pages: a department list upload, the person search."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django import forms
from django.utils import timezone

LIST_SUFFIXES = (".xlsx", ".xls", ".csv")
# A county's largest monthly list (a few tens of thousands of rows) is a few megabytes; a much
# bigger file is the wrong file, and refusing it early spares the server reading it.
MAX_UPLOAD_BYTES = 50 * 1024 * 1024


class UploadForm(forms.Form):
    department = forms.ChoiceField(label="推送部门")
    list_date = forms.DateField(
        label="名单日期",
        # A date input reads ISO dates only; the Chinese locale's format would leave it blank.
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
        help_text="名单所反映情况的日期：部门不再列入的人员，其身份于此日退出。",
    )
    file = forms.FileField(label="名单文件", help_text="Excel（.xlsx、.xls）或 CSV 文件。")
    force = forms.BooleanField(
        label="确认导入",
        required=False,
        help_text="名单会使该部门大部分在册身份退出时，系统默认拒绝导入；核实名单无误后勾选此项。",
    )

    def __init__(self, *args: Any, departments: list[str], allow_force: bool, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.fields["list_date"].initial = timezone.localdate()
        if len(departments) == 1:
            # A liaison uploads for their own department only: the choice is not theirs to make.
            del self.fields["department"]
            self.fixed_department: str | None = departments[0]
        else:
            self.fields["department"].choices = [("", "请选择"), *((d, d) for d in departments)]
            self.fixed_department = None
        if not allow_force:
            del self.fields["force"]

    def clean_file(self) -> Any:
        f = self.cleaned_data["file"]
        if Path(f.name).suffix.lower() not in LIST_SUFFIXES:
            raise forms.ValidationError("只能上传 .xlsx、.xls 或 .csv 文件。")
        if f.size > MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"文件过大（{f.size / 1024 / 1024:.1f} MB），上限 {MAX_UPLOAD_BYTES // 1024 // 1024} MB。"
            )
        if f.size == 0:
            raise forms.ValidationError("文件是空的。")
        return f

    @property
    def department_value(self) -> str:
        return self.fixed_department or self.cleaned_data["department"]


class SearchForm(forms.Form):
    q = forms.CharField(
        label="身份证号或姓名",
        required=False,
        max_length=64,
        widget=forms.TextInput(
            attrs={"placeholder": "完整身份证号、后 4 位以上或姓名", "autofocus": True}
        ),
    )


class UploadFilter(forms.Form):
    department = forms.ChoiceField(label="部门", required=False)
    overdue = forms.BooleanField(label="仅逾期未标识", required=False)

    def __init__(self, *args: Any, departments: list[str], **kwargs: Any):
        # Its own ids: the upload form on the same page has a department field too.
        kwargs.setdefault("auto_id", "filter_%s")
        super().__init__(*args, **kwargs)
        if len(departments) <= 1:
            del self.fields["department"]
        else:
            self.fields["department"].choices = [("", "全部"), *((d, d) for d in departments)]
