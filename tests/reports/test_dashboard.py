"""The home page's figures against sums worked out by hand (see conftest.py's table)."""

from __future__ import annotations

import json
import re
from decimal import Decimal

import pytest

from fangpin.reports import figures
from fangpin.reports.dashboard import dashboard

pytestmark = pytest.mark.django_db


def cards(body: str) -> dict[str, str]:
    """data-testid="fig-KEY" card -> its value as shown."""
    found = re.findall(
        r'data-testid="fig-([^"]+)">\s*<div class="card-label">[^<]*</div>\s*'
        r'<div class="card-value" data-value>([^<]*)</div>',
        body,
    )
    return dict(found)


def chart_islands(body: str) -> dict[str, dict]:
    found = re.findall(r'<script id="([^"]+)" type="application/json">(.*?)</script>', body, re.S)
    return {i: json.loads(text) for i, text in found}


def test_the_years_payouts_are_current_amounts_with_cancelled_claims_left_out(
    users, client_for, ledger
):
    shown = cards(client_for(users.county).get("/").content.decode())
    # C1 + C2 + C3 + C5 with their adjustments; C4 (cancelled) and C6 (last year) count nothing.
    assert shown["fund"] == "14,300.00"
    assert shown["hifp_pay"] == "10,300.00"
    assert shown["hifmi_pay"] == "1,400.00"
    assert shown["maf_pay"] == "2,400.00"
    assert shown["oth_pay"] == "200.00"
    assert shown["psn_part_amt"] == "6,600.00"
    total = figures.total_of(figures.payouts(users.county, ledger.year))
    assert (total.claims, total.medfee, total.inscp) == (4, 2_100_000, 1_850_000)
    assert total.amounts == {
        "hifp_pay": 1_030_000,
        "hifmi_pay": 140_000,
        "maf_pay": 240_000,
        "oth_pay": 20_000,
        "hosp_part_amt": 10_000,
        "fund_pay_sumamt": 1_430_000,
        "psn_part_amt": 660_000,
    }
    # Fund, person and hospital parts add up to the medical fees.
    assert total.fund + total["psn_part_amt"] + total["hosp_part_amt"] == total.medfee


def test_the_policy_scope_ratio_is_fund_over_policy_scope_amount_overall_and_for_low_income_groups(
    users, client_for, ledger
):
    body = client_for(users.leader).get("/").content.decode()
    shown = cards(body)
    assert shown["ratio"] == "77.30%"  # 1,430,000 / 1,850,000
    # C3 is now 稳定脱贫, not a low-income group: C1, C2, C5 give 1,310,000 / 1,700,000.
    assert shown["ratio-low-income"] == "77.06%"
    by_group = figures.payouts(users.leader, ledger.year, by="group")
    assert figures.low_income(by_group).ratio == Decimal(1_310_000) / Decimal(1_700_000)


def test_a_claims_group_is_the_one_its_latest_adjustment_settled_it_with(users, ledger):
    by_group = figures.payouts(users.county, ledger.year, by="group")
    assert set(by_group) == {"低保", "特困", "稳定脱贫"}
    assert by_group["稳定脱贫"].claims == 1
    assert by_group["稳定脱贫"].fund == 120_000  # 90,000 + 10,000 + 20,000
    assert by_group["低保"].fund == 970_000 and by_group["低保"].claims == 2
    assert by_group["特困"].amounts["hifmi_pay"] == 40_000


def test_open_warnings_by_colour_overdue_and_closed_cases_and_open_notices_are_counted(
    users, client_for, ledger
):
    shown = cards(client_for(users.county).get("/").content.decode())
    assert (shown["warn-red"], shown["warn-orange"], shown["warn-yellow"]) == ("2", "1", "1")
    assert shown["overdue"] == "1"  # 豫海镇's red; 河西镇's yellow was visited
    assert shown["closed"] == "1"
    assert shown["notices"] == "2"  # the paid one is done


def test_a_township_cadre_sees_only_her_townships_figures(users, client_for, ledger):
    body = client_for(users.cadre).get("/").content.decode()
    shown = cards(body)
    assert f"本乡镇{ledger.year}年基金支付（元）" in body
    assert shown["fund"] == "10,900.00"  # C1 + C2 + C3
    assert shown["ratio"] == "75.17%"  # 1,090,000 / 1,450,000
    assert (shown["warn-red"], shown["warn-orange"], shown["warn-yellow"]) == ("1", "1", "0")
    assert (shown["overdue"], shown["closed"], shown["notices"]) == ("1", "1", "1")
    assert not chart_islands(body)
    hexi = cards(client_for(users.outsider).get("/").content.decode())
    assert hexi["fund"] == "3,400.00" and hexi["ratio"] == "85.00%"
    assert (hexi["warn-red"], hexi["warn-yellow"], hexi["overdue"]) == ("1", "1", "0")


def test_county_wide_roles_get_the_monthly_payouts_warnings_and_overdue_charts(
    users, client_for, ledger
):
    charts = chart_islands(client_for(users.leader).get("/").content.decode())
    month = charts["chart-payouts-month"]
    assert month["type"] == "stacked" and month["format"] == "fen"
    assert [s["name"] for s in month["series"]] == ["基本医保", "大病保险", "医疗救助", "倾斜救助"]
    values = {s["name"]: s["values"][:3] for s in month["series"]}
    assert values["基本医保"] == [490_000, 300_000, 240_000]
    assert values["医疗救助"] == [110_000, 70_000, 60_000]
    assert values["倾斜救助"] == [20_000, 0, 0]
    warnings = charts["chart-warnings-township"]
    assert warnings["type"] == "stacked" and warnings["labels"] == ["豫海镇", "河西镇"]
    assert {s["name"]: s["values"] for s in warnings["series"]} == {
        "红色": [1, 1],
        "橙色": [1, 0],
        "黄色": [0, 1],
    }
    overdue = charts["chart-overdue-township"]
    assert overdue["labels"] == ["豫海镇", "河西镇"] and overdue["series"][0]["values"] == [1, 0]


def test_another_year_is_shown_when_asked_for(users, client_for, ledger):
    body = client_for(users.county).get(f"/?year={ledger.year - 1}").content.decode()
    shown = cards(body)
    assert shown["hifp_pay"] == "5,000.00"  # C6 alone
    assert shown["warn-red"] == "1" and shown["closed"] == "0"
    assert f'<option value="{ledger.year - 1}" selected>' in body
    # A year that makes no sense is ignored: the current year is shown.
    assert cards(client_for(users.county).get("/?year=abc").content.decode())["fund"] == "14,300.00"


def test_unless_asked_the_pages_show_the_latest_year_that_has_claims_or_screening_runs(
    users, client_for
):
    from django.utils import timezone

    from fangpin.claims.models import YearSum

    today = timezone.localdate()
    assert figures.shown_year(today) == today.year  # nothing yet: this year
    YearSum.objects.create(person_key="P1", year=today.year - 2)
    YearSum.objects.create(person_key="P1", year=today.year + 1)  # dated ahead: not yet shown
    assert figures.shown_year(today) == today.year - 2
    for page in ("/", "/reports/"):
        body = client_for(users.county).get(page).content.decode()
        assert f'<option value="{today.year - 2}" selected>' in body, page
    YearSum.objects.create(person_key="P2", year=today.year)
    assert figures.shown_year(today) == today.year


def test_a_department_liaison_gets_no_payout_or_warning_figures(users, client_for, ledger):
    body = client_for(users.liaison).get("/").content.decode()
    assert "基金支付" not in body and "预警（未办结）" not in body
    board = dashboard(users.liaison)
    assert not board.statistics


def test_payouts_are_summed_in_the_database_whatever_the_number_of_claims(
    users, ledger, django_assert_num_queries
):
    # One GROUP BY over the settlements and one over the adjustments, however many claims.
    with django_assert_num_queries(2):
        figures.payouts(users.county, ledger.year, by="township")
    with django_assert_num_queries(2):
        figures.case_counts(users.county, ledger.year, ledger.today)
