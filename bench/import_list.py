"""Benchmark: a department list of N rows read, checked and merged into the database.

    python -m bench.import_list [--rows 100000] [--keep DIR]

Writes a workbook the way a 民政 office would (title row, its own headers, ~1.5% damaged rows),
then imports it into a fresh database — SQLite in a temporary FANGPIN_HOME unless
FANGPIN_DATABASE_URL names another — and prints the seconds and rows/s of: reading and checking
alone; the whole first import (read, check, create persons, areas and identities, keep the file
and the rejects); a second month's list with 1% of people gone and 1% new (the usual case).
The peer figure is the same workbook merely read with openpyxl (read-only mode) in the same
process, and the ratio of the whole import to that read.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np

TOWNSHIPS = (
    "豫海镇",
    "河西镇",
    "丁塘镇",
    "韦州镇",
    "下马关镇",
    "预旺镇",
    "王团镇",
    "田老庄乡",
    "马高庄乡",
    "张家塬乡",
    "兴隆乡",
)
IDENTITIES = (
    "低保对象",
    "特困人员",
    "低保边缘家庭成员",
    "因病致贫重病患者",
    "孤儿",
    "高龄低收入老年人",
)
SURNAMES = "马李王张刘杨田何丁赵周吴"
GIVEN = "海明兰花军芳强英梅华平玉成福秀桂"
WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)


def make_ids(n: int, rng: np.random.Generator) -> list[str]:
    """n distinct valid IDs of 同心县 (642127 before 1998, 640324 after)."""
    days = rng.choice(np.arange(0, 365 * 85), size=n, replace=True)
    births = np.datetime64("1935-01-01") + days.astype("timedelta64[D]")
    seq = np.arange(n) % 1000
    out = []
    for b, s in zip(births.astype(str), seq, strict=True):
        ymd = b.replace("-", "")
        body = ("642127" if ymd < "1998" else "640324") + ymd + f"{s:03d}"
        total = sum(int(d) * w for d, w in zip(body, WEIGHTS, strict=True))
        out.append(body + "10X98765432"[total % 11])
    return list(dict.fromkeys(out))[:n]


def write_list(path: Path, people: list[tuple], rng: np.random.Generator, title: str) -> int:
    """Write the list with some damage; returns the number of sheet rows."""
    import xlsxwriter

    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True, "strings_to_numbers": False})
    ws = wb.add_worksheet("Sheet1")
    header = [
        "序号",
        "乡镇（街道）",
        "村（社区）",
        "姓名",
        "身份证号",
        "人员类别",
        "认定日期",
        "退出日期",
    ]
    ws.merge_range(0, 0, 0, len(header) - 1, title)
    ws.write_row(1, 0, header)
    r = 2
    damage = rng.random(len(people))
    for i, (id_no, name, town, village, ident, begin) in enumerate(people):
        cells = [i + 1, town, village, name, id_no, ident, begin]
        d = damage[i]
        if d < 0.003:
            r += 1  # a blank row
        elif d < 0.006 and not id_no.endswith("X"):
            cells[4] = float(id_no[:15] + "000")  # typed into a number cell
        elif d < 0.009:
            cells[4] = id_no[:17] + ("0" if id_no[17] != "0" else "1")  # a typo
        elif d < 0.012:
            cells[4] = id_no.translate(str.maketrans("0123456789", "０１２３４５６７８９")) + " "
        elif d < 0.015:
            ws.write_row(r, 0, cells)  # the same row twice
            r += 1
        ws.write_row(r, 0, cells)
        r += 1
    wb.close()
    return r


def people_for(n: int, rng: np.random.Generator) -> list[tuple]:
    ids = make_ids(n, rng)
    towns = rng.integers(0, len(TOWNSHIPS), n)
    villages = rng.integers(1, 16, n)
    idents = rng.choice(len(IDENTITIES), n, p=(0.55, 0.1, 0.15, 0.1, 0.02, 0.08))
    begins = np.datetime64("2015-01-01") + rng.integers(0, 3650, n).astype("timedelta64[D]")
    names = [SURNAMES[a] + GIVEN[b] + GIVEN[c] for a, b, c in rng.integers(0, 12, (n, 3))]
    return [
        (
            ids[i],
            names[i],
            TOWNSHIPS[towns[i]],
            f"{TOWNSHIPS[towns[i]][:2]}{villages[i]}村",
            IDENTITIES[idents[i]],
            str(begins[i]),
        )
        for i in range(len(ids))
    ]


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument(
        "--keep", type=Path, help="work in this folder and keep it (default: a temporary one)"
    )
    args = ap.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="fangpin-bench-import-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ.setdefault("FANGPIN_HOME", str(work / "home"))

    rng = np.random.default_rng(11)
    people = people_for(args.rows, rng)
    march, april = work / "民政_202503.xlsx", work / "民政_202504.xlsx"
    t = time.perf_counter()
    sheet_rows = write_list(march, people, rng, "同心县民政局2025年3月困难群众救助对象名单")
    # April: 1% gone, 1% new.
    keep = [p for p, x in zip(people, rng.random(len(people)), strict=True) if x >= 0.01]
    newcomers = people_for(args.rows // 100, np.random.default_rng(12))
    write_list(april, keep + newcomers, rng, "同心县民政局2025年4月困难群众救助对象名单")
    print(f"wrote 2 workbooks of ~{sheet_rows:,} rows in {time.perf_counter() - t:.1f} s ({work})")

    from fangpin.people.bootstrap import setup_django
    from fangpin.tabular.deptlist import read_dept_list

    setup_django()
    from django.db import connection

    from fangpin.people.services import import_list

    t = time.perf_counter()
    checked = read_dept_list(march, "民政")
    read_s = time.perf_counter() - t
    rows = checked.data_rows
    print(
        f"read + check:        {read_s:6.2f} s  {rows / read_s:9,.0f} rows/s  ({checked.good.height:,} good, {checked.rejected_rows:,} rejected)"
    )

    # CPU seconds of this process (all its threads) beside the wall clock: on a machine
    # shared with other work the wall clock alone overstates what the import costs.
    t, c = time.perf_counter(), time.process_time()
    first = import_list("民政", march, dt.date(2025, 3, 31)).upload
    first_s, first_cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"first import:        {first_s:6.2f} s  {rows / first_s:9,.0f} rows/s  "
        f"({first.persons_created:,} persons, {first.rows_new:,} identities, {first.rows_rejected:,} rejected) "
        f"on {connection.vendor}; {first_cpu:.2f} s CPU in this process"
    )
    t, c = time.perf_counter(), time.process_time()
    second = import_list("民政", april, dt.date(2025, 4, 30)).upload
    second_s, second_cpu = time.perf_counter() - t, time.process_time() - c
    print(
        f"next month's list:   {second_s:6.2f} s  {second.rows_total / second_s:9,.0f} rows/s  "
        f"({second.rows_new:,} new, {second.rows_unchanged:,} unchanged, {second.identities_ended:,} ended); "
        f"{second_cpu:.2f} s CPU in this process"
    )

    import openpyxl

    t = time.perf_counter()
    wb = openpyxl.load_workbook(march, read_only=True)
    n = sum(1 for _ in wb.active.iter_rows(values_only=True))
    wb.close()
    peer_s = time.perf_counter() - t
    print(f"peer: openpyxl read: {peer_s:6.2f} s  {n / peer_s:9,.0f} rows/s (reading only)")
    print(f"ratio: fangpin's whole first import takes {first_s / peer_s:.2f}× openpyxl's bare read")
    load_avg = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    print(f"machine: {os.cpu_count()} CPUs, load average {load_avg}")
    if args.keep is None:
        connection.close()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
