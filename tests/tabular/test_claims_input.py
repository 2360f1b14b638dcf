"""Bad claims and identities: each bad row gets a reason naming row and field; good rows settle."""

import polars as pl
import pytest

from fangpin.tabular.claims import read_claims, read_identities, validate_claims
from fangpin.tabular.io import TableError, read_table

HEADER = "setl_id,psn_no,setl_date,med_type,hosp_lv,in_province,referral,medfee_sumamt,fulamt_ownpay_amt,overlmt_selfpay,preselfpay_amt\n"

ROWS = [
    "G1,P1,2023-02-01,21,2,1,1,1000.00,0,0,0",        # row 2 good
    "B1,P1,2023-02-02,21,2,1,1,-5.00,0,0,0",          # row 3 negative amount
    "B2,P1,2023-02-03,21,2,1,1,100.00,80.00,30.00,0",  # row 4 policy scope < 0
    "B3,P1,2023-02-30,21,2,1,1,100.00,0,0,0",         # row 5 impossible date
    "B4,P1,2023-02-04,13,2,1,1,100.00,0,0,0",         # row 6 unknown med_type
    "B5,P1,2023-02-05,21,7,1,1,100.00,0,0,0",         # row 7 unknown hosp_lv
    "B6,P1,2023-02-06,21,2,1,1,12O.00,0,0,0",         # row 8 non-numeric amount (letter O)
    "B7,P1,2023-02-07,21,2,1,1,100.123,0,0,0",        # row 9 three decimals
    "G1,P1,2023-02-08,21,2,1,1,100.00,0,0,0",         # row 10 duplicate setl_id
    "G2,P2,20230209,14,1,是,否,200,0,0,0",            # row 11 good: compact date, 是/否 flags
]


def _write(path, text, encoding="utf-8"):
    path.write_bytes(text.encode(encoding))
    return path


def test_each_bad_claim_is_rejected_with_its_row_and_field_and_good_rows_survive(tmp_path):
    v = read_claims(_write(tmp_path / "c.csv", HEADER + "\n".join(ROWS) + "\n"))
    assert sorted(v.good["setl_id"].to_list()) == ["G1", "G2"]
    reasons = {r["row"]: r["reason"] for r in v.rejects.iter_rows(named=True)}
    assert reasons[3] == "medfee_sumamt: negative amount '-5.00'"
    assert reasons[4].startswith("inscp_scp_amt: policy-scope amount is negative")
    assert reasons[5] == "setl_date: not a valid date '2023-02-30'"
    assert reasons[6] == "med_type: unknown med_type '13'"
    assert reasons[7] == "hosp_lv: unknown hosp_lv '7'"
    assert reasons[8] == "medfee_sumamt: not a number '12O.00'"
    assert reasons[9] == "medfee_sumamt: more than 2 decimals '100.123'"
    assert reasons[10] == "setl_id: duplicate of row 2"
    assert set(v.rejects["file"]) == {"c.csv"}
    g2 = v.good.filter(pl.col("setl_id") == "G2").row(0, named=True)
    assert (g2["in_province"], g2["referral"], g2["kind"], str(g2["setl_date"])) == (1, 0, 1, "2023-02-09")


def test_a_missing_column_names_the_file_and_the_column(tmp_path):
    path = _write(tmp_path / "c.csv", HEADER.replace(",hosp_lv", "") + "X,P1,2023-01-01,21,1,1,100,0,0,0\n")
    with pytest.raises(TableError, match=r"c\.csv: column hosp_lv: missing column"):
        read_claims(path)


def test_a_gb18030_file_from_a_windows_office_is_read(tmp_path):
    text = "psn_no,psn_idet_type,begndate,enddate\nP1,低保对象,2023-01-01,\nP2,外星人,2023-01-01,\nP3,特困人员,2023-05-01,2023-04-01\n"
    v = read_identities(_write(tmp_path / "i.csv", text, "gb18030"))
    assert v.good["psn_idet_type"].to_list() == ["低保对象"]
    reasons = dict(zip(v.rejects["row"], v.rejects["reason"], strict=True))
    assert reasons[3] == "psn_idet_type: unknown identity '外星人'"
    assert reasons[4] == "enddate: 2023-04-01 is before begndate 2023-05-01"


def test_a_utf8_bom_does_not_hide_the_first_column(tmp_path):
    path = _write(tmp_path / "c.csv", "\ufeff" + HEADER + ROWS[0] + "\n")
    assert read_table(path).columns[0] == "setl_id"
    assert read_claims(path).good.height == 1


def test_parquet_decimals_and_integers_are_taken_exactly(tmp_path):
    import datetime as dt
    from decimal import Decimal

    df = pl.DataFrame({
        "setl_id": ["A", "B"], "psn_no": ["P1", "P1"], "setl_date": [dt.date(2023, 1, 1), dt.date(2023, 1, 2)],
        "med_type": [21, 11], "hosp_lv": [1, 1], "in_province": [1, 1], "referral": [1, 1],
        "medfee_sumamt": [Decimal("100.10"), Decimal("-1.00")], "fulamt_ownpay_amt": [0, 0],
        "overlmt_selfpay": [0, 0], "preselfpay_amt": [0, 0],
    }, schema_overrides={"medfee_sumamt": pl.Decimal(12, 2)})
    path = tmp_path / "c.parquet"
    df.write_parquet(path)
    v = read_claims(path)
    assert v.good["medfee_sumamt"].to_list() == [10010]
    assert v.rejects.row(0, named=True)["row"] == 2 and "negative amount" in v.rejects["reason"][0]


def test_empty_and_blank_values_are_reported_as_missing():
    raw = pl.DataFrame({c: [""] for c in HEADER.strip().split(",")})
    v = validate_claims(raw, "x.csv")
    reason = v.rejects["reason"][0]
    for field in ("setl_id", "psn_no", "setl_date", "med_type", "hosp_lv", "medfee_sumamt"):
        assert f"{field}: missing" in reason


def test_a_parquet_claims_file_that_is_not_parquet_or_lacks_a_column_names_the_file(tmp_path):
    junk = tmp_path / "junk.parquet"
    junk.write_bytes(b"setl_id,psn_no\nS1,P1\n")
    with pytest.raises(TableError, match="junk.parquet: cannot be read"):
        read_claims(junk)
    short = tmp_path / "short.parquet"
    pl.DataFrame({"setl_id": ["S1"], "psn_no": ["P1"]}).write_parquet(short)
    with pytest.raises(TableError, match="short.parquet: column setl_date: missing column"):
        read_claims(short)
