"""Categorized enrollment subsidy (RULES §2), worked by hand per region pack."""

import dataclasses
import datetime as dt

import polars as pl
import pytest

from fangpin.cli import main
from fangpin.engine.subsidy import SubsidyError, subsidies
from fangpin.policy.registry import load_pack
from fangpin.policy.schema import SubsidyRule
from fangpin.tabular.claims import IDENTITY_COLUMNS, validate_identities
from fangpin.units import parse_ratio

PACKS = (
    "anhui-huaibei-2022",
    "shanxi-linxian-2023",
    "sichuan-suining-2022",
    "zhejiang-xiangshan-2022",
    "ningxia-wuzhong-2025",
    "ningxia-shizuishan-2025",
    "baseline",
)
# The baseline carries no year of its own: it applies to any year; 2025 is used here.
YEAR = {p: int(p[-4:]) if p[-4:].isdigit() else 2025 for p in PACKS}

# One person per identity, all active on 1 January: (identity, group).
ONE_EACH = [
    ("特困人员", "特困"),
    ("低保对象", "低保"),
    ("返贫致贫人口", "返贫致贫"),
    ("边缘易致贫户", "监测对象"),
    ("低保边缘家庭成员", "低保边缘"),
    ("因病致贫重病患者", "因病致贫"),
    ("1-2级残疾人", "重度残疾"),
    ("严重精神障碍患者", "严重精神障碍"),
    ("重点优抚对象", "优抚"),
    ("计划生育特殊困难家庭成员", "计生特殊"),
    ("稳定脱贫人口", "稳定脱贫"),
]

# Worked from RULES §8 and the packs: (group shown, subsidy, personal pay) in yuan per identity.
# Baseline (itself, and suining, linxian, xiangshan, shizuishan): C 400; 特困 full; 低保 90% = 360;
# 返贫致贫 80% = 320; 监测对象 50% = 200; the rest nothing.
BASELINE = {
    "特困人员": ("特困", 400, 0),
    "低保对象": ("低保", 360, 40),
    "返贫致贫人口": ("返贫致贫", 320, 80),
    "边缘易致贫户": ("监测对象", 200, 200),
    "低保边缘家庭成员": ("低保边缘", 0, 400),
    "因病致贫重病患者": ("因病致贫", 0, 400),
    "1-2级残疾人": ("重度残疾", 0, 400),
    "严重精神障碍患者": ("严重精神障碍", 0, 400),
    "重点优抚对象": ("优抚", 0, 400),
    "计划生育特殊困难家庭成员": ("计生特殊", 0, 400),
    "稳定脱贫人口": ("稳定脱贫", 0, 400),
}
EXPECTED = {
    "baseline": BASELINE,
    "sichuan-suining-2022": BASELINE,
    "shanxi-linxian-2023": BASELINE,
    "zhejiang-xiangshan-2022": BASELINE,
    "ningxia-shizuishan-2025": BASELINE,
    # 淮北: C 320; 特困 full; 低保 280; 返贫致贫 240; 监测对象 160; only these four are ranked.
    "anhui-huaibei-2022": {
        "特困人员": ("特困", 320, 0),
        "低保对象": ("低保", 280, 40),
        "返贫致贫人口": ("返贫致贫", 240, 80),
        "边缘易致贫户": ("监测对象", 160, 160),
        "低保边缘家庭成员": (None, 0, 320),
        "因病致贫重病患者": (None, 0, 320),
        "1-2级残疾人": (None, 0, 320),
        "严重精神障碍患者": (None, 0, 320),
        "重点优抚对象": (None, 0, 320),
        "计划生育特殊困难家庭成员": (None, 0, 320),
        "稳定脱贫人口": ("稳定脱贫", 0, 320),
    },
    # 吴忠: C 400; fixed 400 / 300 / 300 / 200 / 200 / 180 / 180 / 180 for eight groups.
    "ningxia-wuzhong-2025": {
        "特困人员": ("特困", 400, 0),
        "低保对象": ("低保", 300, 100),
        "返贫致贫人口": ("返贫致贫", 300, 100),
        "边缘易致贫户": ("监测对象", 200, 200),
        "低保边缘家庭成员": ("低保边缘", 200, 200),
        "因病致贫重病患者": (None, 0, 400),
        "1-2级残疾人": ("重度残疾", 180, 220),
        "严重精神障碍患者": (None, 0, 400),
        "重点优抚对象": ("优抚", 180, 220),
        "计划生育特殊困难家庭成员": ("计生特殊", 180, 220),
        "稳定脱贫人口": ("稳定脱贫", 0, 400),
    },
}


def frame(rows: list[tuple]) -> pl.DataFrame:
    """(psn_no, identity, begndate, enddate) rows, validated as the settle command does."""
    raw = pl.DataFrame(
        [dict(zip(IDENTITY_COLUMNS, (p, i, b, e or ""), strict=True)) for p, i, b, e in rows]
    )
    checked = validate_identities(raw.select(pl.all().cast(pl.String)))
    assert checked.rejects.height == 0, checked.rejects.to_dicts()
    return checked.good


def policy(pack_id: str):
    return load_pack(pack_id).policy_at(dt.date(YEAR[pack_id], 1, 1))


def yuan(out: pl.DataFrame) -> dict[str, tuple]:
    return {
        r["psn_no"]: (r["group"], r["subsidy"] / 100, r["personal_pay"] / 100)
        for r in out.iter_rows(named=True)
    }


@pytest.mark.parametrize("pack_id", PACKS)
def test_each_identity_alone_gets_its_groups_subsidy_in_every_pack(pack_id):
    year = YEAR[pack_id]
    out = subsidies(
        policy(pack_id), frame([(i, i, f"{year - 3}-05-01", None) for i, _ in ONE_EACH]), year
    )
    assert out.height == len(ONE_EACH)
    assert yuan(out) == {i: (g, float(s), float(p)) for i, (g, s, p) in EXPECTED[pack_id].items()}


@pytest.mark.parametrize("pack_id", PACKS)
def test_the_highest_ranked_group_on_1_january_wins_and_only_one_subsidy_is_given(pack_id):
    year = YEAR[pack_id]
    rows = [
        ("P", "低保对象", f"{year - 2}-01-01", None),
        ("P", "特困人员", f"{year - 1}-06-01", None),
        ("P", "边缘易致贫户", f"{year - 1}-06-01", None),
    ]
    out = subsidies(policy(pack_id), frame(rows), year)
    c = policy(pack_id).enrollment.contribution["一档"]
    assert out.height == 1
    assert (out["group"][0], out["subsidy"][0], out["personal_pay"][0]) == ("特困", c, 0)


@pytest.mark.parametrize("pack_id", PACKS)
def test_someone_recognised_mid_year_takes_the_group_of_their_first_day(pack_id):
    year = YEAR[pack_id]
    rows = [
        # Two identities begin on 1 June; 低保 outranks 监测对象. A later 特困 does not count.
        ("Q", "边缘易致贫户", f"{year}-06-01", None),
        ("Q", "低保对象", f"{year}-06-01", None),
        ("Q", "特困人员", f"{year}-09-01", None),
    ]
    out = subsidies(policy(pack_id), frame(rows), year)
    expected = EXPECTED[pack_id]["低保对象"]
    assert yuan(out)["Q"] == (expected[0], float(expected[1]), float(expected[2]))
    assert out["group_date"][0] == dt.date(year, 6, 1)


def test_a_group_change_during_the_year_keeps_the_group_of_1_january():
    rows = [
        ("R", "边缘易致贫户", "2021-03-01", "2022-05-31"),
        ("R", "特困人员", "2022-06-01", None),
    ]
    out = subsidies(policy("sichuan-suining-2022"), frame(rows), 2022)
    assert yuan(out)["R"] == ("监测对象", 200.0, 200.0)


def test_an_identity_that_ended_before_the_year_gives_nothing_and_one_that_ends_in_it_counts():
    rows = [
        ("S", "低保对象", "2019-01-01", "2021-12-31"),
        ("T", "低保对象", "2019-01-01", "2022-01-01"),
    ]
    out = yuan(subsidies(policy("sichuan-suining-2022"), frame(rows), 2022))
    assert out["S"] == (None, 0.0, 400.0)
    assert out["T"] == ("低保", 360.0, 40.0)


def test_a_stable_household_falling_back_mid_year_is_subsidised_from_then():
    # 稳定脱贫 is no subsidy group: the 返贫致贫 recognition of 1 July decides (即认定、即享受).
    rows = [("U", "稳定脱贫人口", "2018-01-01", None), ("U", "返贫致贫人口", "2025-07-01", None)]
    for pack_id in ("ningxia-wuzhong-2025", "ningxia-shizuishan-2025"):
        out = yuan(subsidies(policy(pack_id), frame(rows), 2025))
        assert out["U"] == (
            "返贫致贫",
            300.0 if pack_id == "ningxia-wuzhong-2025" else 320.0,
            100.0 if pack_id == "ningxia-wuzhong-2025" else 80.0,
        )


def test_a_different_reference_date_is_honoured():
    rows = [("V", "低保对象", "2022-03-01", None)]
    out = subsidies(
        policy("sichuan-suining-2022"), frame(rows), 2022, reference_date=dt.date(2022, 3, 1)
    )
    assert out["group_date"][0] == dt.date(2022, 3, 1) and out["subsidy"][0] == 36000


def tiered_policy():
    """A pack with two contribution tiers (like a Chongqing district: 400 and 775 yuan)."""
    base = policy("sichuan-suining-2022")
    en = dataclasses.replace(
        base.enrollment,
        contribution={"一档": 40000, "二档": 77500},
        subsidies={
            "特困": SubsidyRule("full"),
            "低保": SubsidyRule("percent", ratio=parse_ratio("0.5")),
            "监测对象": SubsidyRule("fixed", amount={"一档": 20000, "二档": 90000}),
        },
    )
    return dataclasses.replace(base, enrollment=en)


def test_tiers_give_each_person_the_contribution_and_subsidy_of_their_tier():
    rows = [
        (p, i, "2020-01-01", None)
        for p, i in (
            ("A1", "特困人员"),
            ("A2", "特困人员"),
            ("B1", "低保对象"),
            ("B2", "低保对象"),
            ("C2", "边缘易致贫户"),
        )
    ]
    tiers = pl.DataFrame({"psn_no": ["A2", "B2", "C2", "B1"], "tier": ["二档", "二档", "二档", ""]})
    out = yuan(subsidies(tiered_policy(), frame(rows), 2022, tiers=tiers))
    assert out["A1"] == ("特困", 400.0, 0.0)
    assert out["A2"] == ("特困", 775.0, 0.0)
    assert out["B1"] == ("低保", 200.0, 200.0)  # blank tier: the first
    assert out["B2"] == ("低保", 387.5, 387.5)
    assert out["C2"] == ("监测对象", 775.0, 0.0)  # a fixed 900 is capped at C


def test_an_unknown_tier_is_an_error_naming_the_person():
    rows = [("A1", "特困人员", "2020-01-01", None)]
    with pytest.raises(SubsidyError, match="A1 \\(三档\\)"):
        subsidies(
            tiered_policy(),
            frame(rows),
            2022,
            tiers=pl.DataFrame({"psn_no": ["A1"], "tier": ["三档"]}),
        )


def test_a_percentage_is_rounded_half_up_to_the_fen():
    p = tiered_policy()
    p = dataclasses.replace(
        p, enrollment=dataclasses.replace(p.enrollment, contribution={"一档": 33333, "二档": 77500})
    )
    out = subsidies(p, frame([("H", "低保对象", "2020-01-01", None)]), 2022)
    assert (out["subsidy"][0], out["personal_pay"][0]) == (16667, 16666)  # 166.665 -> 166.67


def test_people_without_identities_are_answered_with_no_group():
    out = subsidies(
        policy("anhui-huaibei-2022"),
        frame([("A", "特困人员", "2020-01-01", None)]),
        2022,
        people=pl.Series(["A", "Z"]),
    )
    assert yuan(out) == {"A": ("特困", 320.0, 0.0), "Z": (None, 0.0, 320.0)}


def test_the_subsidy_command_writes_yuan_one_row_per_person_and_reports_rejects(tmp_path, capsys):
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "psn_no,psn_idet_type,begndate,enddate\n"
        "A,特困人员,2020-01-01,\nA,低保对象,2020-01-01,\nB,低保对象,2020-01-01,\nC,五保户,2020-01-01,\n",
        encoding="utf-8",
    )
    out = tmp_path / "sub.csv"
    code = main(
        [
            "subsidy",
            "--policy",
            "anhui-huaibei-2022",
            "--year",
            "2022",
            "--identities",
            str(ids),
            "--out",
            str(out),
        ]
    )
    assert code == 1  # C's row was rejected
    got = pl.read_csv(out, infer_schema=False)
    assert got.columns == ["psn_no", "group", "subsidy", "personal_pay"]
    assert got.rows() == [
        ("A", "特困", "320.00", "0.00"),
        ("B", "低保", "280.00", "40.00"),
        ("C", None, "0.00", "320.00"),
    ]
    assert "unknown identity" in (tmp_path / "sub.rejects.csv").read_text(encoding="utf-8")
    assert "3 people, 2 subsidised, 600.00 yuan" in capsys.readouterr().out


def test_the_subsidy_command_exits_0_when_all_rows_are_good_and_2_on_a_bad_pack(tmp_path):
    ids = tmp_path / "ids.csv"
    ids.write_text(
        "psn_no,psn_idet_type,begndate,enddate\nA,特困人员,2020-01-01,\n", encoding="utf-8"
    )
    args = ["--year", "2022", "--identities", str(ids), "--out", str(tmp_path / "o.csv")]
    assert main(["subsidy", "--policy", "anhui-huaibei-2022", *args]) == 0
    assert main(["subsidy", "--policy", "no-such-pack", *args]) == 2
    assert (
        main(["subsidy", "--policy", "anhui-huaibei-2022", *args[:-1], str(tmp_path / "o.txt")])
        == 2
    )
