"""Subsidies stored on enrollment records and the tax bureau's list, per region pack.

People (year Y of the pack, resident records unless said):
  S1 特困 since long ago                          -> full C
  S2 低保 from 1 June of Y (即认定、即享受)       -> the 低保 subsidy
  S3 特困, paid twice                             -> one subsidy, on the earlier record
  S4 稳定脱贫, died during the year              -> nothing, group 稳定脱贫
  S5 低保, in prison (服刑)                       -> nothing: no contribution collected
  S6 低保, insured as an employee (职工)          -> nothing: not a resident enrollee
  S7 重度残疾                                     -> 180 in 吴忠, nothing elsewhere
"""

import datetime as dt

import pytest
from python_calamine import CalamineWorkbook

from fangpin.cli import main
from fangpin.enrollment.models import EnrollmentRecord
from fangpin.enrollment.subsidies import compute_subsidies, write_tax_list
from fangpin.people.areas import AreaResolver
from fangpin.people.models import Identity, Person
from fangpin.policy.groups import IDENTITIES
from fangpin.policy.registry import load_pack
from tests.people.factories import make_id

pytestmark = pytest.mark.django_db

# pack -> (C, 特困, 低保, 重度残疾) in yuan, worked from RULES §8 and the packs.
AMOUNTS = {
    "anhui-huaibei-2022": (320, 320, 280, 0),
    "shanxi-linxian-2023": (400, 400, 360, 0),
    "sichuan-suining-2022": (400, 400, 360, 0),
    "zhejiang-xiangshan-2022": (400, 400, 360, 0),
    "ningxia-wuzhong-2025": (400, 400, 300, 180),
    "ningxia-shizuishan-2025": (400, 400, 360, 0),
    "baseline": (400, 400, 360, 0),
}


def pack_year(pack_id: str) -> int:
    """A region pack's own year; the baseline applies to any, 2025 here."""
    return int(pack_id[-4:]) if pack_id[-4:].isdigit() else 2025


def setup_people(year: int) -> dict[str, Person]:
    areas = AreaResolver()
    town = areas.township("豫海镇")
    village = areas.village(town, "一村")
    people = {}
    spec = {
        "S1": [("特困人员", dt.date(2015, 1, 1))],
        "S2": [("低保对象", dt.date(year, 6, 1))],
        "S3": [("特困人员", dt.date(2019, 1, 1))],
        "S4": [("稳定脱贫人口", dt.date(2017, 1, 1))],
        "S5": [("低保对象", dt.date(2018, 1, 1))],
        "S6": [("低保对象", dt.date(2018, 1, 1))],
        "S7": [("1-2级残疾人", dt.date(2018, 1, 1))],
    }
    for i, (key, identities) in enumerate(spec.items(), start=1):
        p = Person.objects.create(
            id_no=make_id("19700101", i), name=key, township=town, village=village
        )
        for name, begin in identities:
            group, dept = IDENTITIES[name]
            Identity.objects.create(person=p, name=name, group=group, department=dept, begin=begin)
        people[key] = p
    records = [
        ("S1", "居民", dt.date(year - 1, 10, 1), ""),
        ("S2", "居民", dt.date(year, 6, 20), ""),
        ("S3", "居民", dt.date(year, 1, 5), ""),
        ("S3", "居民", dt.date(year - 1, 10, 1), ""),
        ("S4", "居民", dt.date(year - 1, 10, 1), "死亡"),
        ("S5", "居民", None, "服刑"),
        ("S6", "职工", dt.date(year, 1, 1), ""),
        ("S7", "居民", dt.date(year - 1, 11, 1), ""),
    ]
    for key, insutype, paid, stop in records:
        EnrollmentRecord.objects.create(
            person=people[key], year=year, insutype=insutype, tier="一档" if insutype == "居民" else "",
            paid_date=paid, stop_reason=stop, row_key=f"{insutype}|{paid or ''}",
        )  # fmt: skip
    return people


def stored(year: int) -> dict[tuple[str, str], tuple]:
    return {
        (r.person.name, r.paid_date.isoformat() if r.paid_date else ""): (
            r.subsidy_group,
            r.subsidy,
        )
        for r in EnrollmentRecord.objects.filter(year=year).select_related("person")
    }


@pytest.mark.parametrize("pack_id", sorted(AMOUNTS))
def test_subsidies_are_stored_on_one_resident_record_per_person(pack_id, tmp_path):
    year = pack_year(pack_id)
    policy = load_pack(pack_id).policy_at(dt.date(year, 1, 1))
    setup_people(year)
    c, tekun, dibao, disabled = (100 * x for x in AMOUNTS[pack_id])
    result = compute_subsidies(year, policy)
    assert result.persons == 5  # S1 S2 S3 S4 S7; S5 in prison, S6 an employee
    got = stored(year)
    assert got[("S1", f"{year - 1}-10-01")] == ("特困", tekun)
    assert got[("S2", f"{year}-06-20")] == ("低保", dibao)
    assert got[("S3", f"{year - 1}-10-01")] == ("特困", tekun)  # the earlier payment
    assert got[("S3", f"{year}-01-05")] == ("", 0)
    assert got[("S4", f"{year - 1}-10-01")] == ("稳定脱贫", 0)
    assert got[("S5", "")] == ("", 0)
    assert got[("S6", f"{year}-01-01")] == ("", 0)
    ranked = not pack_id.startswith("anhui")  # 淮北's subsidy list names four groups only
    assert got[("S7", f"{year - 1}-11-01")] == ("重度残疾" if ranked else "", disabled)
    assert result.total == 2 * tekun + dibao + disabled
    assert result.subsidised == 3 + (1 if disabled else 0)
    # Re-running changes nothing.
    assert compute_subsidies(year, policy).changed == 0
    # The tax bureau's list: the subsidised people, amounts in yuan.
    out = tmp_path / "tax.xlsx"
    assert write_tax_list(year, out, policy) == result.subsidised
    rows = CalamineWorkbook.from_path(str(out)).get_sheet_by_index(0).to_python()
    assert rows[0][:5] == ["序号", "乡镇", "村", "姓名", "身份证号"]
    s2 = next(r for r in rows[1:] if r[3] == "S2")
    assert s2[4] == make_id("19700101", 2)
    assert s2[7:] == ["低保", f"{c // 100}.00", f"{dibao // 100}.00", f"{(c - dibao) // 100}.00"]


def test_the_subsidy_command_on_the_database_stores_and_writes_the_tax_list(tmp_path, capsys):
    setup_people(2025)
    out = tmp_path / "tax.xlsx"
    assert (
        main(["subsidy", "--policy", "ningxia-wuzhong-2025", "--year", "2025", "--out", str(out)])
        == 0
    )
    printed = capsys.readouterr().out
    assert "5 resident enrollees, 4 subsidised, 1280.00 yuan" in printed  # 400 + 300 + 400 + 180
    assert out.exists()
    assert (
        main(
            [
                "subsidy",
                "--policy",
                "ningxia-wuzhong-2025",
                "--year",
                "2025",
                "--out",
                str(tmp_path / "t.csv"),
            ]
        )
        == 2
    )


def test_a_subsidy_left_on_a_record_that_may_not_have_one_is_taken_off_and_counted():
    year = 2025
    policy = load_pack("ningxia-wuzhong-2025").policy_at(dt.date(year, 1, 1))
    people = setup_people(year)
    first = compute_subsidies(year, policy)
    # Stale values, as an older pack or a hand edit would leave them: on the employee's
    # record, on the prisoner's, and on S3's second resident record.
    stale = {"subsidy": 4000, "subsidy_group": "特困", "subsidy_pack": "old-pack"}
    EnrollmentRecord.objects.filter(person=people["S6"]).update(**stale)
    EnrollmentRecord.objects.filter(person=people["S5"]).update(**stale)
    EnrollmentRecord.objects.filter(person=people["S3"], paid_date=dt.date(year, 1, 5)).update(
        **stale
    )
    again = compute_subsidies(year, policy)
    assert again.changed == 3 and again.total == first.total
    assert stored(year)[("S6", f"{year}-01-01")] == ("", 0)
    assert not EnrollmentRecord.objects.filter(person__in=[people["S5"], people["S6"]]).exclude(
        subsidy=0, subsidy_group="", subsidy_pack=""
    )
    assert (
        EnrollmentRecord.objects.get(person=people["S3"], paid_date=dt.date(year, 1, 5)).subsidy
        == 0
    )
    assert compute_subsidies(year, policy).changed == 0
