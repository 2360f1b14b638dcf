"""The household file (一户一档) and the lists a run pushes to 民政 and 乡村振兴."""

import io

import pytest
from python_calamine import CalamineWorkbook

from fangpin.audit.models import AuditEntry
from fangpin.warnings.household import household_file, person_file
from fangpin.warnings.lists import HEADERS, department_list, write_lists
from fangpin.warnings.models import Case
from fangpin.warnings.services import add_measure, record_visit, run_screening
from fangpin.warnings.sources import claims_ledger_installed
from tests.warnings.helpers import D, household, ident_rows, inpatient, person, settled

pytestmark = pytest.mark.django_db


@pytest.fixture
def family():
    """A household of two in 豫海镇 一村: the father (低保) is red; the daughter has no claim."""
    h = household("640324-0001")
    father = person(
        "马父", household=h, identities=(("低保对象", "2024-01-01"), ("脱贫不稳定户", "2024-06-01"))
    )
    daughter = person("马女", household=h)
    other = person("杨某", township="河西镇", village="二村")
    # father, 低保 in 吴忠: CI tilt D 3,000, +5 pp; assistance 低保 D 0 at 75%, cap 50,000.
    # bill 400,000: hifp 300,000 (cap); CI base 100,000 → 97,000 above D:
    #   50,000 × 0.65 + 47,000 × 0.70 = 32,500 + 32,900 = 65,400;
    # assistance base 100,000 − 65,400 = 34,600 × 0.75 = 25,950; burden 34,600 − 25,950 = 8,650 → 黄色
    # other: no identity, bill 150,000 → burden 21,160 → 红色
    claims = settled(
        "ningxia-wuzhong-2025",
        [inpatient(father, "2025-03-01", "400000.00"), inpatient(other, "2025-04-01", "150000.00")],
        ident_rows(father),
    )
    out = run_screening(D(2025, 9, 26), "ningxia-wuzhong-2025", claims=claims)
    return h, father, daughter, other, out.run


def test_the_household_file_holds_members_identities_warnings_and_cases(family, users):
    h, father, daughter, _other, run = family
    case = Case.objects.get(person=father)
    assert (case.level, case.amount_latest) == ("黄色", 865000)
    record_visit(case, date=D(2025, 9, 29), finding="有风险", user=users.cadre)
    add_measure(case, kind="纳入监测", date=D(2025, 9, 30), user=users.cadre)
    f = household_file(h, year=2025)
    assert f.household == h and [m.person for m in f.members] == [father, daughter]
    dad, girl = f.members
    assert [i.name for i in dad.identities] == ["低保对象", "脱贫不稳定户"]
    assert [(x.run, x.level, x.amount, x.change) for x in dad.flags] == [
        (run, "黄色", 865000, "新增")
    ]
    assert [c.state for c in dad.cases] == ["帮扶中"]
    assert [m.kind for m in dad.cases[0].measures.all()] == ["纳入监测"]
    assert (girl.flags, girl.cases, girl.identities) == ([], [], [])
    assert f.open_cases == [case]
    if not claims_ledger_installed():
        assert dad.claims is None
    assert [m.person for m in person_file(daughter).members] == [father, daughter]


def test_a_person_without_a_household_has_a_file_of_their_own(family):
    _h, _father, _daughter, other, _run = family
    f = person_file(other, year=2025)
    assert f.household is None and [m.person for m in f.members] == [other]
    assert [c.level for c in f.members[0].cases] == ["红色"]


def _sheet(data: bytes, name: str) -> list[list]:
    wb = CalamineWorkbook.from_filelike(io.BytesIO(data))
    return wb.get_sheet_by_name(name).to_python()


def test_the_lists_carry_whole_ids_chinese_headers_and_each_departments_identities(family, users):
    _h, father, _daughter, other, run = family
    minzheng = _sheet(department_list(run, "民政", user=users.county), "预警名单")
    assert "推送民政" in minzheng[0][0] and "2025-09-26" in minzheng[0][0]
    assert tuple(minzheng[1]) == HEADERS
    rows = [dict(zip(HEADERS, r, strict=True)) for r in minzheng[2:]]
    # by township name, then the highest level first
    assert [
        (r["乡镇"], r["姓名"], r["身份证号"], r["预警等级"], r["年度累计个人负担(元)"])
        for r in rows
    ] == [
        ("河西镇", "杨某", other.id_no, "红色", "21160.00"),
        ("豫海镇", "马父", father.id_no, "黄色", "8650.00"),
    ]
    assert (rows[1]["本部门认定身份"], rows[1]["其他身份"], rows[1]["户编号"]) == (
        "低保对象",
        "脱贫不稳定户",
        "640324-0001",
    )
    assert rows[1]["本次变化"] == "新增" and rows[1]["案件状态"] == "待核查"
    xiangcun = _sheet(department_list(run, "乡村振兴"), "预警名单")
    mine = {r[4]: r[6] for r in xiangcun[2:]}
    assert mine == {"杨某": "", "马父": "脱贫不稳定户"}
    summary = _sheet(department_list(run, "乡村振兴"), "汇总")
    assert summary[0][:4] == [
        "乡镇",
        "红橙黄三色预警·黄色",
        "红橙黄三色预警·橙色",
        "红橙黄三色预警·红色",
    ]
    assert {r[0]: r[-1] for r in summary[1:]} == {"河西镇": 1, "豫海镇": 1}
    exports = AuditEntry.objects.filter(
        action="export", obj_type="screening_run", obj_id=str(run.pk)
    )
    assert exports.count() == 3 and exports.filter(user=users.county).count() == 1


def test_write_lists_writes_one_workbook_per_department(family, tmp_path):
    *_, run = family
    paths = write_lists(run, tmp_path / "out")
    assert [p.name for p in paths] == [
        f"高额费用预警名单_民政_2025-09-26_批次{run.pk}.xlsx",
        f"高额费用预警名单_乡村振兴_2025-09-26_批次{run.pk}.xlsx",
    ]
    assert all(p.stat().st_size > 0 for p in paths)
    assert not list((tmp_path / "out").glob(".*"))
