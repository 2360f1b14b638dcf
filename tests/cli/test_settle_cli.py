"""`fangpin settle` and `fangpin explain` as a user runs them: files in, files out, exit codes."""

import io
import re
import shutil
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from fangpin.cli import main

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
ARGS = [
    "--policy",
    "shanxi-linxian-2023",
    "--claims",
    str(EXAMPLES / "claims.csv"),
    "--identities",
    str(EXAMPLES / "identities.csv"),
]
COLUMNS = [
    "setl_id",
    "psn_no",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "hosp_part_amt",
    "fund_pay_sumamt",
    "psn_part_amt",
    "group",
]


def test_settle_writes_one_row_per_settled_claim_and_the_rejects_beside_it(tmp_path, capsys):
    out = tmp_path / "o.csv"
    assert main(["settle", *ARGS, "--out", str(out)]) == 1  # one example row is bad on purpose
    df = pl.read_csv(out, infer_schema=False)
    assert df.columns == COLUMNS
    assert df.height == 9
    assert all(len(v.split(".")[1]) == 2 for v in df["fund_pay_sumamt"])
    rejects = pl.read_csv(tmp_path / "o.rejects.csv", infer_schema=False)
    assert rejects.row(0, named=True) == {
        "file": "claims.csv",
        "row": "11",
        "id": "S2023000010",
        "reason": "medfee_sumamt: negative amount '-200.00'",
    }
    assert "settled 9 claims" in capsys.readouterr().out


def test_settle_exits_zero_when_every_row_settled(tmp_path):
    good = tmp_path / "claims.csv"
    lines = (EXAMPLES / "claims.csv").read_text(encoding="utf-8").splitlines()
    good.write_text("\n".join(x for x in lines if "-200.00" not in x) + "\n", encoding="utf-8")
    args = [*ARGS]
    args[3] = str(good)
    assert main(["settle", *args, "--out", str(tmp_path / "o.csv")]) == 0
    assert pl.read_csv(tmp_path / "o.rejects.csv").height == 0


def test_parquet_in_and_out_gives_the_same_figures_as_csv(tmp_path):
    claims = pl.read_csv(EXAMPLES / "claims.csv", infer_schema=False)
    claims.write_parquet(tmp_path / "c.parquet")
    args = [
        "--policy",
        "shanxi-linxian-2023",
        "--claims",
        str(tmp_path / "c.parquet"),
        "--identities",
        str(EXAMPLES / "identities.csv"),
    ]
    assert main(["settle", *args, "--out", str(tmp_path / "o.parquet")]) == 1
    assert main(["settle", *ARGS, "--out", str(tmp_path / "o.csv")]) == 1
    pq = pl.read_parquet(tmp_path / "o.parquet")
    assert pq.schema["hifp_pay"] == pl.Decimal(18, 2)
    csv = pl.read_csv(tmp_path / "o.csv", infer_schema=False)
    assert pq.with_columns(pl.col(c).cast(pl.String) for c in COLUMNS).to_dicts() == csv.to_dicts()


def test_usage_errors_exit_two_with_a_message(tmp_path, capsys):
    assert main(["settle", *ARGS, "--out", str(tmp_path / "o.xlsx")]) == 2
    assert "unknown file type .xlsx" in capsys.readouterr().err
    bad = tmp_path / "c.csv"
    bad.write_text("setl_id,psn_no\nS1,P1\n", encoding="utf-8")
    assert (
        main(
            [
                "settle",
                "--policy",
                "shanxi-linxian-2023",
                "--claims",
                str(bad),
                "--identities",
                str(EXAMPLES / "identities.csv"),
                "--out",
                str(tmp_path / "o.csv"),
            ]
        )
        == 2
    )
    assert "c.csv: column setl_date: missing column" in capsys.readouterr().err
    assert (
        main(["settle", "--policy", "nowhere-2020", *ARGS[2:], "--out", str(tmp_path / "o.csv")])
        == 2
    )


def test_a_missing_argument_is_exit_two_from_the_installed_command(tmp_path):
    exe = shutil.which("fangpin") or str(Path(sys.executable).parent / "fangpin")
    proc = subprocess.run(
        [exe, "settle", "--policy", "shanxi-linxian-2023"], capture_output=True, text=True
    )
    assert proc.returncode == 2
    assert "--claims" in proc.stderr
    assert proc.stderr.count("\r") == 0  # no progress bar when stderr is not a terminal


def test_explain_prints_the_bill_of_one_claim_in_chinese(capsys):
    assert main(["explain", *ARGS, "--setl-id", "S2023000003"]) == 0
    bill = capsys.readouterr().out
    for text in (
        "医疗费用一站式结算单",
        "【基本医疗保险】",
        "【大病保险】",
        "困难群众倾斜支付",
        "【医疗救助】",
        "【倾斜救助】",
        "目录外费用控制",
        "个人负担",
    ):
        assert text in bill, text
    # the bill's figures are the settlement's figures
    assert "本次支付:67340.00 元" in bill
    assert re.search(r"医疗机构承担\s+400\.00 元", bill) and re.search(
        r"个人负担\s+33341\.50 元", bill
    )


def test_explain_of_a_rejected_claim_says_why(capsys):
    assert main(["explain", *ARGS, "--setl-id", "S2023000010"]) == 2
    assert "negative amount" in capsys.readouterr().err


class _Stderr(io.StringIO):
    def __init__(self, terminal: bool):
        super().__init__()
        self.terminal = terminal

    def isatty(self) -> bool:
        return self.terminal


@pytest.mark.parametrize("terminal", [True, False])
def test_a_long_run_shows_a_progress_bar_on_a_terminal_only(tmp_path, monkeypatch, terminal):
    import fangpin.commands.settle as settle_cmd

    monkeypatch.setattr(settle_cmd, "PROGRESS_MIN_ROWS", 5)  # the example file counts as long
    err = _Stderr(terminal)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["settle", *ARGS, "--out", str(tmp_path / "o.csv")]) == 1
    if terminal:
        assert "settle" in err.getvalue() and "\r" in err.getvalue()
    else:
        assert err.getvalue() == ""


def test_a_short_run_on_a_terminal_prints_no_progress_bar(tmp_path, monkeypatch):
    err = _Stderr(True)
    monkeypatch.setattr(sys, "stderr", err)
    assert main(["settle", *ARGS, "--out", str(tmp_path / "o.csv")]) == 1
    assert err.getvalue() == ""
