"""A screening run reads from the ledger only the people some rule's lowest bound lets through:
one fen above the bound is read and flagged, at the bound is left out; an income-multiple bound
is worked out from the pack's reference income and keeps the people above it even when it is
lower than another rule's absolute bound; the run still counts everyone's claims."""

from __future__ import annotations

import textwrap

import polars as pl
import pytest
from django.apps import apps

from fangpin.engine.screen import lowest_bounds, screen
from fangpin.policy.registry import PACK_DIR, load_pack
from fangpin.warnings.models import Case
from fangpin.warnings.services import run_screening
from fangpin.warnings.sources import (
    AMOUNT_COLUMNS,
    empty_identities,
    read_screening_sums,
    screening_sums_wide,
)
from tests.warnings.helpers import D, person

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(
        not apps.is_installed("fangpin.claims"), reason="claims ledger not installed"
    ),
]

WZ = "ningxia-wuzhong-2025"  # 黄 above 5,000 yuan; income rule above 2 × 18,000 = 36,000
SN = "sichuan-suining-2022"  # one rule: above half of 2021's income 29,000 = 14,500


def year_sum(key: str, year: int, **columns: int):
    """A person-year as the ledger keeps it (columns: n{k} and {measure}_{k}, fen)."""
    from fangpin.claims.models import YearSum

    return YearSum.objects.create(person_key=key, year=year, **columns)


def test_one_fen_above_the_lowest_bound_is_read_and_flagged_and_at_the_bound_is_left_out():
    p = person()
    year_sum(p.id_no, 2025, n2=1, psn_part_amt_2=500_001)
    year_sum("AT", 2025, n2=2, psn_part_amt_2=500_000)
    # 4,000.00 inpatient and 1,000.01 chronic: the rule sums every kind
    year_sum("SPLIT", 2025, n1=1, psn_part_amt_1=100_001, n2=1, psn_part_amt_2=400_000)
    year_sum("LOW", 2025, n0=3, psn_part_amt_0=20_000)
    year_sum("LASTYEAR", 2024, n2=1, psn_part_amt_2=9_000_000)
    floors = lowest_bounds(load_pack(WZ), D(2025, 10, 31))
    read = read_screening_sums(2025, D(2025, 10, 31), floors=floors)
    assert read.how == "kept"
    assert sorted(read.claims["psn_no"].unique()) == sorted([p.id_no, "SPLIT"])
    assert read.total == 1 + 2 + 2 + 3  # everyone's valid claims of the year, read or not
    out = run_screening(D(2025, 10, 31), WZ)
    assert out.flagged.select("psn_no", "rule", "level", "amount").rows() == sorted(
        [(p.id_no, "three-colour", "黄色", 500_001), ("SPLIT", "three-colour", "黄色", 500_001)]
    )
    assert out.run.claims == 8 and out.run.flagged == 2
    assert Case.objects.count() == 2


def test_a_rule_with_an_income_multiple_bound_keeps_the_people_above_it():
    year_sum("ABOVE", 2022, n0=1, psn_part_amt_0=1_450_001)
    year_sum("AT", 2022, n2=1, psn_part_amt_2=1_450_000)
    year_sum("FAR", 2022, n2=1, psn_part_amt_2=900_000)
    assert lowest_bounds(load_pack(SN), D(2022, 8, 31)) == [
        ("psn_part_amt", frozenset({0, 1, 2}), 1_450_000)
    ]
    out = run_screening(D(2022, 8, 31), SN)
    assert out.flagged.select("psn_no", "rule", "amount").rows() == [("ABOVE", "income", 1_450_001)]
    assert out.run.claims == 3


def _pack(tmp_path, body: str, name: str = "test-floors-2025"):
    (tmp_path / "baseline.yaml").write_text(
        (PACK_DIR / "baseline.yaml").read_text(encoding="utf-8"), encoding="utf-8"
    )
    head = (
        f"id: {name}\nname: 测试\nseed: 000_x.txt\nextends: baseline\neffective_from: 2025-01-01\n"
    )
    (tmp_path / f"{name}.yaml").write_text(head + textwrap.dedent(body), encoding="utf-8")
    return load_pack.__wrapped__(name, tmp_path)


# Three rules whose lowest bounds cross: an absolute 20,000 on inpatient claims only, half of
# 2024's income 18,000 = 9,000 on outpatient claims (below the first rule's bound), and
# policy-scope self-pay above 3,000 for 低保 on chronic and inpatient claims.
CROSSING = """\
values:
  warnings:
    reference_income:
      by_year:
        2024: !assumed 18000
    rules:
      - id: !assumed inpatient
        name: !assumed 住院高额预警
        measure: !assumed psn_part_amt
        med_types: !assumed [21]
        population: !assumed all
        levels:
          - {name: !assumed 黄色, above: !assumed 20000, deadline: !assumed {working_days: 20}}
          - {name: !assumed 红色, above: !assumed 40000, deadline: !assumed {working_days: 5}}
      - id: !assumed outpatient
        name: !assumed 门诊收入倍数预警
        measure: !assumed psn_part_amt
        med_types: !assumed [11, 14]
        population: !assumed all
        levels:
          - {name: !assumed 推送, above_income_multiple: !assumed 0.5, deadline: !assumed {calendar_days: 7}}
      - id: !assumed selfpay
        name: !assumed 政策范围内自付预警
        measure: !assumed inscp_selfpay
        med_types: !assumed [14, 21]
        population: !assumed {in: [低保]}
        levels:
          - {name: !assumed 推送, above: !assumed 3000, deadline: !assumed {calendar_days: 3}}
"""


def _crossing_year():
    """People around each rule's bound; amounts in fen."""
    year_sum("IN-ABOVE", 2025, n2=1, psn_part_amt_2=2_000_001)
    year_sum("IN-AT", 2025, n2=1, psn_part_amt_2=2_000_000, n0=1, psn_part_amt_0=100)
    # 9,000.01 over general and chronic outpatient: above the income bound, far below 20,000
    year_sum("OUT-ABOVE", 2025, n0=2, psn_part_amt_0=400_001, n1=1, psn_part_amt_1=500_000)
    year_sum("OUT-AT", 2025, n0=1, psn_part_amt_0=900_000, n2=1, psn_part_amt_2=1_000_000)
    # policy-scope self-pay 3,000.01 on inpatient claims (inscp − the four tiers)
    selfpay = dict(inscp_scp_amt_2=1_000_001, hifp_pay_2=600_000, hifmi_pay_2=100_000,
                   maf_pay_2=0, oth_pay_2=0)  # fmt: skip
    year_sum("SELF-ABOVE", 2025, n2=1, psn_part_amt_2=50_000, **selfpay)
    year_sum(
        "SELF-AT", 2025, n2=1, psn_part_amt_2=50_000, **{**selfpay, "inscp_scp_amt_2": 1_000_000}
    )
    # amounts in a kind with no valid claim are not counted, as the long rows leave them out
    year_sum("NO-CLAIM", 2025, n0=0, psn_part_amt_0=5_000_000)
    year_sum("NOBODY", 2025, n0=4, psn_part_amt_0=10_000)


def test_floors_leave_out_only_people_no_rule_can_flag(tmp_path):
    pack = _pack(tmp_path, CROSSING)
    on = D(2025, 10, 31)
    floors = lowest_bounds(pack, on)
    assert floors == [
        ("psn_part_amt", frozenset({2}), 2_000_000),
        ("psn_part_amt", frozenset({0, 1}), 900_000),
        ("inscp_selfpay", frozenset({1, 2}), 300_000),
    ]
    _crossing_year()
    everyone = read_screening_sums(2025, on, AMOUNT_COLUMNS)
    some = read_screening_sums(2025, on, AMOUNT_COLUMNS, floors=floors)
    assert sorted(some.claims["psn_no"].unique()) == ["IN-ABOVE", "OUT-ABOVE", "SELF-ABOVE"]
    assert some.total == everyone.total == everyone.claims["claims"].sum() == 14
    ids = pl.DataFrame(
        {"psn_no": ["SELF-ABOVE", "SELF-AT"], "group_bit": [2, 2],
         "begndate": [D(2025, 1, 1)] * 2, "enddate": [None, None]},
        schema=empty_identities().schema,
    )  # fmt: skip
    from fangpin.policy.groups import GROUP_BIT

    assert GROUP_BIT["低保"] == 2
    flagged = screen(pack, some.claims, ids, on)
    assert flagged.equals(screen(pack, everyone.claims, ids, on))
    assert flagged.select("psn_no", "rule", "amount").rows() == [
        ("IN-ABOVE", "inpatient", 2_000_001),
        ("OUT-ABOVE", "outpatient", 900_001),
        ("SELF-ABOVE", "selfpay", 300_001),
    ]


def test_a_floor_needs_the_columns_of_its_measure():
    with pytest.raises(
        ValueError, match="floors need the measures hifmi_pay, hifp_pay, inscp_scp_amt, maf_pay"
    ):
        screening_sums_wide(
            2025, D(2025, 10, 31), ("psn_part_amt",), [("inscp_selfpay", frozenset({2}), 0)]
        )


def test_no_rules_read_nobody_but_count_everyones_claims():
    year_sum("A", 2025, n2=1, psn_part_amt_2=9_000_000)
    read = read_screening_sums(2025, D(2025, 10, 31), floors=[])
    assert read.claims.height == 0 and read.total == 1


@pytest.fixture
def institution(settings):
    from fangpin.claims.models import Institution

    settings.FANGPIN_POLICY = WZ
    return Institution.objects.create(code="H64032400011", name="同心县人民医院")


def _settle(institution, who, setl_id: str, date: str, yuan: int):
    from fangpin.claims.services import ClaimInput, settle_online

    return settle_online(
        institution,
        ClaimInput(setl_id=setl_id, psn_no=who.id_no, setl_date=D.fromisoformat(date), med_type=21,
                   hosp_lv=2, in_province=True, referral=True, medfee_sumamt=yuan * 100),
        pack=load_pack(WZ),
    )  # fmt: skip


@pytest.mark.parametrize(
    ("upto", "how"),
    [(D(2025, 8, 31), "kept-less-later"), (D(2025, 2, 1), "summed"), (D(2025, 12, 31), "kept")],
)
def test_every_way_of_reading_the_sums_applies_the_floors_alike(institution, upto, how):
    # p bears more than 5,000 from January on, q from March; r never comes near
    p, q, r = person(), person(), person()
    _settle(institution, p, "P1", "2025-01-20", 25_000)
    _settle(institution, r, "R1", "2025-01-10", 1_000)
    _settle(institution, q, "Q1", "2025-03-01", 400_000)
    _settle(institution, p, "P2", "2025-06-20", 120_000)
    for i in range(4):  # later claims, so that the earliest date sums directly
        _settle(institution, r, f"R{i + 2}", "2025-09-15", 500)
    floors = lowest_bounds(load_pack(WZ), upto)
    wide, got = screening_sums_wide(2025, upto, ("psn_part_amt",), floors)
    whole, _ = screening_sums_wide(2025, upto, ("psn_part_amt",))
    assert got == how
    burden = pl.sum_horizontal(pl.col(f"psn_part_amt_{k}").fill_null(0) for k in (0, 1, 2))
    assert sorted(wide["psn_no"]) == sorted(whole.filter(burden > 500_000)["psn_no"])
    assert wide.height >= 1 and wide.height < whole.height
    read = read_screening_sums(2025, upto, floors=floors)
    assert read.total == read_screening_sums(2025, upto).claims["claims"].sum()
    out = run_screening(upto, WZ)
    assert out.run.claims == read.total
    assert out.flagged.equals(
        screen(load_pack(WZ), read_screening_sums(2025, upto).claims, empty_identities(), upto)
    )


LX = "shanxi-linxian-2023"  # 监测对象 above 6,000; everyone else above 20,000


def test_only_the_identities_of_the_people_read_are_read_and_populations_still_hold():
    monitored = person(identities=(("边缘易致贫户", "2023-01-01"),))
    plain = person()
    low = person(identities=(("脱贫不稳定户", "2023-01-01"),))
    year_sum(monitored.id_no, 2023, n2=1, psn_part_amt_2=600_001)
    year_sum(plain.id_no, 2023, n2=1, psn_part_amt_2=600_001)  # needs 20,000: not flagged
    year_sum(low.id_no, 2023, n0=1, psn_part_amt_0=600_000)  # at the lower bound: not read
    on = D(2023, 8, 31)
    read = read_screening_sums(2023, on, floors=lowest_bounds(load_pack(LX), on))
    keys = read.claims["psn_no"].unique()
    assert sorted(keys) == sorted([monitored.id_no, plain.id_no])
    from fangpin.warnings.sources import screening_identities

    assert screening_identities(on, keys=keys)["psn_no"].to_list() == [monitored.id_no]
    assert sorted(screening_identities(on)["psn_no"]) == sorted([monitored.id_no, low.id_no])
    assert screening_identities(on, keys=[]).height == 0
    out = run_screening(on, LX)
    assert out.flagged.select("psn_no", "rule", "amount").rows() == [
        (monitored.id_no, "monitored", 600_001)
    ]
