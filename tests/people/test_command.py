"""`fangpin import-list` on the database: counts printed, exit status, rejects workbook."""

import datetime as dt

import pytest
from python_calamine import CalamineWorkbook

from fangpin.cli import main
from fangpin.people.models import DepartmentUpload, Identity
from tests.people.factories import make_id, write_workbook, wrong_check

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def test_import_list_prints_what_it_did_and_exits_1_when_rows_were_rejected(tmp_path, capsys):
    path = write_workbook(
        tmp_path / "残联_202503.xlsx",
        ["序号", "姓名", "证件号码", "人员类别", "认定日期", "乡镇", "村"],
        [[1, "张三", make_id(seq=1), "1-2级残疾人", "2024.01.02", "韦州镇", "一村"], [2, "李四", wrong_check(make_id(seq=2)), "1-2级残疾人", "2024.01.02", "韦州镇", "一村"]],
        title="一、二级重度残疾人名单",
    )  # fmt: skip
    rejects = tmp_path / "退回.xlsx"
    args = [
        "import-list",
        "--dept",
        "残联",
        str(path),
        "--date",
        "2025-03-31",
        "--policy",
        "sichuan-suining-2022",
    ]
    assert main([*args, "--rejects", str(rejects)]) == 1
    out = capsys.readouterr().out
    assert "残联 list of 2025-03-31" in out and "2 rows — 1 new" in out and "1 rejected" in out
    assert "row 4 证件号码" in out and "校验位错误" in out
    sheet = CalamineWorkbook.from_path(str(rejects)).get_sheet_by_index(0).to_python()
    assert sheet[2][0] == 4.0 and "校验位错误" in sheet[2][-1]
    assert Identity.objects.get().begin == dt.date(2024, 1, 2)
    assert main(args) == 1
    assert "nothing changed" in capsys.readouterr().out
    assert DepartmentUpload.objects.count() == 1


def test_import_list_usage_errors_exit_2(tmp_path, capsys):
    path = write_workbook(
        tmp_path / "l.xlsx", ["身份证号", "姓名", "人员类别"], [[make_id(), "张三", "低保对象"]]
    )
    assert main(["import-list", "--dept", "教育局", str(path)]) == 2
    assert "unknown department" in capsys.readouterr().err
    assert main(["import-list", "--dept", "民政", str(tmp_path / "missing.xlsx")]) == 2
    assert (
        main(["import-list", "--dept", "民政", str(path), "--rejects", str(tmp_path / "r.csv")])
        == 2
    )
    odd = write_workbook(tmp_path / "odd.xlsx", ["编号", "备注"], [["1", "x"]])
    assert main(["import-list", "--dept", "民政", str(odd)]) == 2
    assert "no header row" in capsys.readouterr().err
    assert main(["import-list", "--dept", "民政", str(path)]) == 0
