"""`fangpin reconcile`: the month's enrollment check of the special population (RULES §5)."""

from __future__ import annotations

import argparse
import datetime as dt
from pathlib import Path

from fangpin.cli import EXIT_OK, UsageError

LIST_HEADERS = {
    "kind": "类型", "township": "乡镇", "village": "村", "name": "姓名", "id_no": "身份证号",
    "group": "类别", "status": "状态", "listed_month": "推送月份", "birth_date": "出生日期",
}  # fmt: skip


def register(sub) -> None:
    p = sub.add_parser(
        "reconcile", help="reconcile the special population against the year's enrollment"
    )
    p.add_argument("--year", type=int, required=True, help="enrollment year")
    p.add_argument(
        "--date", type=dt.date.fromisoformat, required=True, help="check date (YYYY-MM-DD)"
    )
    p.add_argument(
        "--out", type=Path, help="write the un-enrolled list (and newborns) here (.xlsx or .csv)"
    )
    p.add_argument(
        "--births", type=Path, help="births file: psn_no or 身份证号, name, birth_date, township"
    )
    p.add_argument("--policy", help="region pack (default: FANGPIN_POLICY or baseline)")
    p.set_defaults(handler=cmd_reconcile)


def cmd_reconcile(args: argparse.Namespace) -> int:
    from fangpin.people.bootstrap import default_pack_id, setup_django
    from fangpin.policy.registry import load_pack
    from fangpin.policy.source import PackError
    from fangpin.tabular.io import TableError

    if args.out is not None and args.out.suffix.lower() not in (".xlsx", ".csv"):
        raise UsageError("--out must name an .xlsx or .csv file")
    if args.births is not None and not args.births.exists():
        raise UsageError(f"no such file: {args.births}")
    try:
        policy = load_pack(args.policy or default_pack_id()).policy_at(args.date)
    except PackError as exc:
        raise UsageError(str(exc)) from None
    setup_django()
    from fangpin.enrollment.services import export_list, run_reconciliation

    try:
        result = run_reconciliation(args.year, args.date, policy, births=args.births)
    except TableError as exc:
        raise UsageError(str(exc)) from None
    _print(result)
    if args.out is not None:
        n = write_list(result, args.out)
        export_list(args.year, n)
        print(f"{n} people to enrol -> {args.out}")
    return EXIT_OK


def _print(result) -> None:
    run = result.run
    print(
        f"enrollment {run.year}, checked {run.as_of} ({run.month:%Y-%m}, run {run.runs}): "
        f"{run.persons} special persons; {result.opened} newly un-enrolled, {result.closed} cleared; "
        f"{result.unenrolled.height} open; newborns: {result.newborns_opened} listed, "
        f"{result.newborns_closed} cleared, {result.newborns.height} open"
    )
    cols = ("persons", "insured", "to_enroll", "未参保", "死亡", "服刑", "身份证号无效", "重复")
    print("township".ljust(12) + "".join(c.rjust(10) for c in cols) + "rate".rjust(9))
    for row in result.by_township.iter_rows(named=True):
        rate = "" if row["rate"] is None else f"{100 * row['rate']:.2f}%"
        print(
            str(row["township"] or "(unknown)").ljust(12)
            + "".join(str(row[c]).rjust(10) for c in cols)
            + rate.rjust(9)
        )


def write_list(result, path: Path) -> int:
    import polars as pl

    from fangpin.tabular.xlsx import write_xlsx

    df = pl.concat([result.unenrolled, result.newborns], how="vertical_relaxed")
    df = df.with_columns(pl.col("birth_date").cast(pl.String))
    if path.suffix.lower() == ".csv":
        from fangpin.tabular.io import write_table

        write_table(df, path)
        return df.height
    headers = [LIST_HEADERS[c] for c in df.columns]
    title = f"{result.run.year}年度未参保人员名单（核对日期 {result.run.as_of}）"
    return write_xlsx(
        path, headers, df.iter_rows(), sheet="未参保名单", title=title, widths={4: 22}
    )
