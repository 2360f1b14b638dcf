"""`fangpin screen` as a user runs it: claims and identities in, warnings out, exit codes."""

from pathlib import Path

import polars as pl
import pytest

from fangpin.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
COLUMNS = ["psn_no", "rule", "level", "amount", "deadline"]
CLAIMS_HEAD = (
    "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,"
    "medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt\n"
)
IDS_HEAD = "psn_no,psn_idet_type,begndate,enddate\n"
WZ = "ningxia-wuzhong-2025"

# Wholly out-of-catalogue inpatient bills: each person's burden is the bill itself.
WUZHONG = [
    "S1,P1,2025-03-01,21,2,1,1,5000.01,5000.01,0,0",  # yellow
    "S2,P2,2025-03-01,21,2,1,1,12000.00,12000.00,0,0",  # orange
    "S3,P3,2025-03-01,21,2,1,1,20000.00,20000.00,0,0",  # with S4: 40,000 → red, and income
    "S4,P3,2025-09-30,21,2,1,1,20000.00,20000.00,0,0",
    "S5,P4,2025-10-01,21,2,1,1,90000.00,90000.00,0,0",  # after the date: not counted
    "S6,P5,2024-12-31,21,2,1,1,90000.00,90000.00,0,0",  # last year: not counted
]


def run(
    tmp_path: Path,
    claims: list[str],
    ids: list[str] = (),
    *,
    policy: str = WZ,
    date: str = "2025-09-30",
    out: str = "w.csv",
) -> tuple[int, Path]:
    """Write the two input files, run `fangpin screen`, return (exit status, output path)."""
    (tmp_path / "c.csv").write_text(CLAIMS_HEAD + "".join(r + "\n" for r in claims), "utf-8")
    (tmp_path / "i.csv").write_text(IDS_HEAD + "".join(r + "\n" for r in ids), "utf-8")
    files = ["--claims", str(tmp_path / "c.csv"), "--identities", str(tmp_path / "i.csv")]
    target = tmp_path / out
    args = ["screen", "--policy", policy, *files, "--date", date, "--out", str(target)]
    return main(args), target


def test_screen_writes_one_row_per_person_and_rule_with_yuan_and_iso_deadlines(tmp_path, capsys):
    status, out = run(tmp_path, WUZHONG)
    assert status == 0
    df = pl.read_csv(out, infer_schema=False)
    assert df.columns == COLUMNS
    assert df.rows() == [
        # yellow 20 working days, orange 10, red 5 across National Day (Saturday 11 October worked)
        ("P1", "three-colour", "黄色", "5000.01", "2025-11-04"),
        ("P2", "three-colour", "橙色", "12000.00", "2025-10-21"),
        ("P3", "three-colour", "红色", "40000.00", "2025-10-14"),
        # above 2 × 18,000: 7 calendar days
        ("P3", "income", "推送", "40000.00", "2025-10-07"),
    ]
    assert pl.read_csv(tmp_path / "w.rejects.csv").height == 0
    printed = capsys.readouterr().out
    assert "4 warnings for 3 people" in printed
    assert "three-colour (红橙黄三色预警): 黄色 1, 橙色 1, 红色 1" in printed
    assert "income (农村低收入人口收入倍数预警): 推送 1" in printed


def test_rejected_rows_go_beside_the_output_the_rest_is_screened_and_the_exit_is_one(
    tmp_path, capsys
):
    claims = [*WUZHONG, "S7,P6,2025-03-01,21,2,1,1,-10.00,0,0,0"]
    status, out = run(tmp_path, claims, ["P1,低保对象,2025-01-01,", "P2,外星人,2025-01-01,"])
    assert status == 1
    rejects = pl.read_csv(tmp_path / "w.rejects.csv", infer_schema=False)
    assert rejects["id"].to_list() == ["S7", "P2"]
    assert "unknown identity" in rejects["reason"][1]
    # P1 is now 低保, but wuzhong has no out-of-catalogue control: the bill stays P1's, still yellow
    assert pl.read_csv(out, infer_schema=False)["psn_no"].to_list() == ["P1", "P2", "P3", "P3"]
    assert "rejected 1 claim rows and 1 identity rows" in capsys.readouterr().out


def test_parquet_output_has_decimal_yuan_and_real_dates(tmp_path):
    status, out = run(tmp_path, WUZHONG, out="w.parquet")
    assert status == 0
    df = pl.read_parquet(out)
    assert df.columns == COLUMNS
    assert df.schema["amount"] == pl.Decimal(18, 2)
    assert df.schema["deadline"] == pl.Date
    assert str(df["amount"][2]) == "40000.00"


def test_amounts_are_the_settled_burdens_summed_per_person(tmp_path):
    # the shipped example: settle it, sum psn_part_amt per person, and screen it
    base = ["--policy", "shanxi-linxian-2023", "--claims", str(EXAMPLES / "claims.csv")]
    base += ["--identities", str(EXAMPLES / "identities.csv")]
    assert main(["settle", *base, "--out", str(tmp_path / "s.csv")]) == 1
    assert main(["screen", *base, "--date", "2023-12-31", "--out", str(tmp_path / "w.csv")]) == 1
    settled = pl.read_csv(tmp_path / "s.csv", infer_schema=False)
    burden = settled.group_by("psn_no").agg(pl.col("psn_part_amt").cast(pl.Decimal(18, 2)).sum())
    flagged = pl.read_csv(tmp_path / "w.csv", infer_schema=False)
    joined = flagged.join(burden, on="psn_no")
    assert joined.height == flagged.height == 3
    assert joined["amount"].to_list() == joined["psn_part_amt"].cast(pl.String).to_list()
    # the 监测对象 (脱贫不稳定户 from April) is held to 6,000, the others to 20,000
    assert sorted(flagged["rule"].to_list()) == ["monitored", "others", "others"]
    # 10 working days after 31 December 2023 (1 January off) → 15 January 2024
    assert set(flagged["deadline"]) == {"2024-01-15"}


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"date": "2025-02-30"}, "--date: not a date (YYYY-MM-DD): '2025-02-30'"),
        ({"out": "w.xlsx"}, "unknown file type .xlsx"),
        ({"policy": "nowhere-2020"}, "no pack 'nowhere-2020'"),
        (
            {"policy": "sichuan-suining-2022", "date": "2023-05-01"},
            "has no reference income (上年度城乡居民人均可支配收入) for 2022",
        ),
    ],
)
def test_usage_errors_exit_two_with_a_message_and_write_nothing(tmp_path, capsys, options, message):
    status, out = run(tmp_path, WUZHONG, **options)
    assert status == 2
    assert message in capsys.readouterr().err
    assert not out.exists()


def test_a_deadline_in_a_year_without_a_holiday_calendar_is_a_usage_error(tmp_path, capsys):
    claims = ["S1,P1,2099-03-01,21,2,1,1,30000.00,30000.00,0,0"]
    status, out = run(tmp_path, claims, policy="ningxia-shizuishan-2025", date="2099-05-01")
    assert status == 2
    assert "working days of 2099 are not known" in capsys.readouterr().err
    assert not out.exists()


def test_a_date_with_nobody_flagged_writes_just_the_header(tmp_path, capsys):
    status, out = run(tmp_path, WUZHONG, date="2025-01-31")
    assert status == 0
    assert out.read_text(encoding="utf-8").splitlines() == [",".join(COLUMNS)]
    assert "黄色 0, 橙色 0, 红色 0" in capsys.readouterr().out
