"""Monthly enrollment reconciliation, zero-clearing and newborns (RULES §5), on PostgreSQL.

The county below is worked by hand. On 31 March 2025 the special population is:

  豫海镇  P1 特困, 居民 record          -> 已参保(居民)
          P2 低保 + 1-2级残疾, 职工       -> 已参保(职工)   (group 低保)
          P3 边缘易致贫户, 异地           -> 异地参保
          P4 低保, no record              -> 未参保
  河西镇  P5 稳定脱贫, died               -> 死亡
          P6 返贫致贫, in prison          -> 服刑
          P7 特困, paid twice             -> 重复
          P8 低保, ID with a bad check    -> 身份证号无效
          P10 严重精神障碍, no record     -> 未参保
  P9's identity ended in February and P11 has none: neither is counted.

豫海镇: 4 persons, 3 insured, 4 to enrol -> 75%. 河西镇: 5 persons, 1 insured (重复), 2 exempt
(死亡, 服刑), 3 to enrol -> 33.33%.
"""

import datetime as dt

import polars as pl
import pytest
from python_calamine import CalamineWorkbook

from fangpin.cli import main
from fangpin.enrollment.models import (
    EnrollmentRecord,
    NewbornItem,
    ReconciliationRun,
    UnenrolledItem,
)
from fangpin.enrollment.services import import_enrollment, run_reconciliation
from fangpin.people.areas import AreaResolver
from fangpin.people.models import Identity, Person
from fangpin.policy.groups import IDENTITIES
from fangpin.policy.registry import load_pack
from tests.people.factories import make_id, wrong_check

pytestmark = pytest.mark.django_db

PACKS = (
    "anhui-huaibei-2022",
    "shanxi-linxian-2023",
    "sichuan-suining-2022",
    "zhejiang-xiangshan-2022",
    "ningxia-wuzhong-2025",
    "ningxia-shizuishan-2025",
    "baseline",
)
MARCH, APRIL = dt.date(2025, 3, 31), dt.date(2025, 4, 30)
ID = {f"P{i}": make_id("19700101", i) for i in range(1, 14)}
ID["P8"] = wrong_check(ID["P8"])
SINCE = dt.date(2020, 1, 1)


def person(key: str, town: str, *identities: tuple) -> Person:
    areas = AreaResolver()
    t = areas.township(town)
    p = Person.objects.create(id_no=ID[key], name=key, township=t, village=areas.village(t, "一村"))
    for ident in identities:
        name, begin, end = (
            (ident + (SINCE, None))[:3] if isinstance(ident, tuple) else (ident, SINCE, None)
        )
        group, dept = IDENTITIES[name]
        Identity.objects.create(
            person=p, name=name, group=group, department=dept, begin=begin, end=end
        )
    return p


def enrollment_file(tmp_path, rows: list[tuple], name="e.csv"):
    path = tmp_path / name
    lines = ["psn_no,name,year,insutype,tier,paid_date,stop_reason"]
    lines += [
        f"{ID.get(k, k)},{k},2025,{t},{'一档' if t == '居民' else ''},{paid},{stop}"
        for k, t, paid, stop in rows
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def county(tmp_path):
    person("P1", "豫海镇", "特困人员")
    person("P2", "豫海镇", "低保对象", "1-2级残疾人")
    person("P3", "豫海镇", "边缘易致贫户")
    person("P4", "豫海镇", "低保对象")
    person("P5", "河西镇", "稳定脱贫人口")
    person("P6", "河西镇", "返贫致贫人口")
    person("P7", "河西镇", "特困人员")
    person("P8", "河西镇", "低保对象")
    person("P9", "河西镇", ("低保对象", SINCE, dt.date(2025, 2, 28)))
    person("P10", "河西镇", "严重精神障碍患者")
    person("P11", "河西镇")
    rows = [
        ("P1", "居民", "2024-10-01", ""),
        ("P2", "职工", "2025-01-01", ""),
        ("P3", "异地", "2024-12-01", ""),
        ("P5", "居民", "2024-10-02", "死亡"),
        ("P6", "居民", "", "服刑"),
        ("P7", "居民", "2024-10-01", ""),
        ("P7", "居民", "2025-01-05", ""),
        ("P8", "居民", "2024-10-01", ""),
        ("P11", "居民", "2024-10-01", ""),
    ]
    result = import_enrollment(enrollment_file(tmp_path, rows), 2025)
    # P8's ID fails the check but is the ledger's text for P8, so the record still finds P8.
    assert (result.batch.rows_new, result.batch.rows_rejected, result.batch.persons_created) == (
        9,
        0,
        0,
    )
    return tmp_path


@pytest.mark.parametrize("pack_id", PACKS)
def test_each_special_person_gets_one_status_and_townships_get_their_rates(county, pack_id):
    policy = load_pack(pack_id).policy_at(MARCH)
    result = run_reconciliation(2025, MARCH, policy)
    got = {
        name: (status, group)
        for name, status, group in result.statuses.select("name", "status", "group").iter_rows()
    }
    assert got == {
        "P1": ("已参保(居民)", "特困"),
        "P2": ("已参保(职工)", "低保"),
        "P3": ("异地参保", "监测对象"),
        "P4": ("未参保", "低保"),
        "P5": ("死亡", "稳定脱贫"),
        "P6": ("服刑", "返贫致贫"),
        "P7": ("重复", "特困"),
        "P8": ("身份证号无效", "低保"),
        "P10": ("未参保", "严重精神障碍"),
    }
    towns = {r["township"]: r for r in result.by_township.iter_rows(named=True)}
    assert (
        towns["豫海镇"]["persons"],
        towns["豫海镇"]["insured"],
        towns["豫海镇"]["to_enroll"],
    ) == (4, 3, 4)
    assert towns["豫海镇"]["rate"] == pytest.approx(0.75)
    assert (
        towns["河西镇"]["persons"],
        towns["河西镇"]["insured"],
        towns["河西镇"]["to_enroll"],
    ) == (5, 1, 3)
    assert towns["河西镇"]["rate"] == pytest.approx(1 / 3)
    by_group = {(r["township"], r["group"]): r for r in result.by_group.iter_rows(named=True)}
    assert (by_group[("豫海镇", "低保")]["persons"], by_group[("豫海镇", "低保")]["未参保"]) == (
        2,
        1,
    )
    assert result.run.counts == {
        "已参保(居民)": 1,
        "已参保(职工)": 1,
        "异地参保": 1,
        "未参保": 2,
        "死亡": 1,
        "服刑": 1,
        "重复": 1,
        "身份证号无效": 1,
    }
    assert result.run.pack == pack_id
    assert sorted(result.unenrolled["name"].to_list()) == ["P10", "P4"]


def items():
    return sorted(
        UnenrolledItem.objects.values_list(
            "pk", "person__name", "state", "month", "closed_on", "closed_status"
        )
    )


def test_the_un_enrolled_are_cleared_month_by_month_and_a_re_run_changes_nothing(county, tmp_path):
    march = run_reconciliation(2025, MARCH)
    assert (march.opened, march.closed) == (2, 0)
    before = items()
    again = run_reconciliation(2025, MARCH)
    assert (again.opened, again.closed, again.run.pk, again.run.runs) == (0, 0, march.run.pk, 2)
    assert items() == before
    # April: P4 enrols; P12 is newly recognised and not enrolled.
    import_enrollment(
        enrollment_file(tmp_path, [("P4", "居民", "2025-04-10", "")], "april.csv"), 2025
    )
    person("P12", "豫海镇", ("低保对象", dt.date(2025, 4, 2), None))
    april = run_reconciliation(2025, APRIL)
    assert (april.opened, april.closed) == (1, 1)
    state = {name: (s, m, c, cs) for _pk, name, s, m, c, cs in items()}
    assert state["P4"] == ("closed", dt.date(2025, 3, 1), APRIL, "已参保(居民)")
    assert state["P10"] == ("open", dt.date(2025, 3, 1), None, "")  # still open, since March
    assert state["P12"] == ("open", dt.date(2025, 4, 1), None, "")
    assert april.run.items_opened == 1 and april.run.items_closed == 1
    # May: P10 leaves the special population; the item closes saying so.
    Identity.objects.filter(person__id_no=ID["P10"]).update(end=dt.date(2025, 5, 15))
    may = run_reconciliation(2025, dt.date(2025, 5, 31))
    assert may.closed == 1
    assert UnenrolledItem.objects.get(person__id_no=ID["P10"]).closed_status == "不在特殊人群"
    assert ReconciliationRun.objects.count() == 3


def test_newborns_without_enrollment_after_the_window_are_listed_then_cleared(county, tmp_path):
    baby = {
        k: make_id(d, 7)
        for k, d in (
            ("b1", "20250201"),
            ("b2", "20250315"),
            ("b3", "20250110"),
            ("b5", "20250301"),
            ("b6", "20250228"),
        )
    }
    ID.update(baby)
    births = tmp_path / "births.csv"
    births.write_text(
        "psn_no,name,birth_date,township\n"
        + "".join(
            f"{baby[k]},{k},{baby[k][6:10]}-{baby[k][10:12]}-{baby[k][12:14]},豫海镇\n"
            for k in baby
        )
        + "NB0004,b4,2025-02-20,河西镇\n",
        encoding="utf-8",
    )
    import_enrollment(enrollment_file(tmp_path, [("b3", "居民", "2025-01-20", "")], "b.csv"), 2025)
    result = run_reconciliation(2025, MARCH, births=births)
    # b1 (58 days), b4 (39), b6 (31) are listed; b2 (16) and b5 (exactly 30) are not yet; b3 is enrolled.
    assert sorted(result.newborns["name"].to_list()) == ["b1", "b4", "b6"]
    assert result.newborns_opened == 3
    b1 = NewbornItem.objects.get(name="b1")
    assert (b1.due_date, b1.township.name, b1.month) == (
        dt.date(2025, 3, 3),
        "豫海镇",
        dt.date(2025, 3, 1),
    )
    assert run_reconciliation(2025, MARCH, births=births).newborns_opened == 0
    import_enrollment(enrollment_file(tmp_path, [("b1", "居民", "2025-04-03", "")], "b1.csv"), 2025)
    april = run_reconciliation(2025, APRIL, births=births)
    assert april.newborns_closed == 1
    assert NewbornItem.objects.get(name="b1").state == "closed"
    assert sorted(april.newborns["name"].to_list()) == ["b2", "b4", "b5", "b6"]


def test_the_reconcile_command_prints_townships_and_writes_the_list(county, tmp_path, capsys):
    out = tmp_path / "list.xlsx"
    assert (
        main(
            [
                "reconcile",
                "--year",
                "2025",
                "--date",
                "2025-03-31",
                "--out",
                str(out),
                "--policy",
                "ningxia-wuzhong-2025",
            ]
        )
        == 0
    )
    printed = capsys.readouterr().out
    assert "9 special persons; 2 newly un-enrolled" in printed
    assert "豫海镇" in printed and "75.00%" in printed and "33.33%" in printed
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert rows[1] == [
        "类型",
        "乡镇",
        "村",
        "姓名",
        "身份证号",
        "类别",
        "状态",
        "推送月份",
        "出生日期",
    ]
    assert sorted((r[1], r[3], r[4]) for r in rows[2:]) == [
        ("河西镇", "P10", ID["P10"]),
        ("豫海镇", "P4", ID["P4"]),
    ]
    csv = tmp_path / "list.csv"
    assert main(["reconcile", "--year", "2025", "--date", "2025-03-31", "--out", str(csv)]) == 0
    assert pl.read_csv(csv)["name"].sort().to_list() == ["P10", "P4"]
    assert (
        main(
            [
                "reconcile",
                "--year",
                "2025",
                "--date",
                "2025-03-31",
                "--out",
                str(tmp_path / "x.pdf"),
            ]
        )
        == 2
    )


def test_the_import_enrollment_command_reports_counts_and_rejects(tmp_path, capsys):
    path = enrollment_file(
        tmp_path, [("P1", "居民", "2024-10-01", ""), ("P2", "商业", "2024-10-01", "")]
    )
    assert main(["import-enrollment", str(path), "--year", "2025"]) == 1
    printed = capsys.readouterr().out
    assert "2 rows — 1 new" in printed and "1 rejected rows" in printed
    assert "商业" in (tmp_path / "e.rejects.csv").read_text(encoding="utf-8")
    assert main(["import-enrollment", str(path), "--year", "2025"]) == 1
    assert "nothing changed" in capsys.readouterr().out
    assert EnrollmentRecord.objects.count() == 1


def test_an_enrollment_file_gives_its_township_and_village_to_people_who_have_none(tmp_path):
    """P1 is new, P2 known without a township, P3 known in 河西镇 (kept: the lists' place wins),
    P4 known by another person number, P5 enrolled with no place given."""
    areas = AreaResolver()
    hexi = areas.township("河西镇")
    Person.objects.create(id_no=ID["P2"], name="P2")
    Person.objects.create(id_no=ID["P3"], name="P3", township=hexi, village=areas.village(hexi, "一村"))
    Person.objects.create(id_no=ID["P4"], psn_no="N-4", name="P4")
    path = tmp_path / "places.csv"
    path.write_text(
        "身份证号,姓名,年度,参保类型,缴费档次,缴费日期,乡镇,村\n"
        f"{ID['P1']},P1,2025,居民,一档,2024-10-01,豫海镇,民主社区\n"
        f"{ID['P2']},P2,2025,居民,一档,2024-10-02, 丁塘镇 ,丁塘村\n"
        f"{ID['P3']},P3,2025,居民,一档,2024-10-03,豫海镇,民主社区\n"
        "N-4,P4,2025,居民,一档,2024-10-04,丁塘镇,\n"
        f"{ID['P5']},P5,2025,居民,一档,2024-10-05,,\n",
        encoding="utf-8",
    )
    result = import_enrollment(path, 2025)
    assert result.batch.rows_new == 5 and result.batch.persons_created == 2
    places = {
        p.name: (p.township and p.township.name, p.village and p.village.name)
        for p in Person.objects.select_related("township", "village")
    }
    assert places == {
        "P1": ("豫海镇", "民主社区"),
        "P2": ("丁塘镇", "丁塘村"),
        "P3": ("河西镇", "一村"),
        "P4": ("丁塘镇", None),
        "P5": (None, None),
    }
