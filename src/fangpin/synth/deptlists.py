"""Monthly department lists (部门推送名单) as the offices send them, with realistic dirt.

Each department (民政, 乡村振兴, 残联, 卫健, 退役军人事务) sends, for each month, one
xlsx file ``{dept}_{year}{MM}.xlsx`` listing the identities it recognises at the end of
that month: spells it had approved by the month's last day and that had not ended before its
first day. An approval is recorded some days after the date it takes effect (the 认定日期 the
list shows; `listed_from`): a person identified in March may first appear on April's list with
a March date, so claims settled in between went without the identity — what the bureau's
missed-benefits run exists to find. An end date inside the month is shown in the exit column;
later end dates are not known yet.

Offices differ in headers and date styles. A small share of rows (~1.5%) is dirty;
every dirty row is recorded in ``dept/_dirty.csv`` as ``(file, row, kind)`` with
``row`` the 1-based Excel row number, so an importer can be checked against it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl

from fangpin.synth.areas import place_names
from fangpin.synth.identities import DEPARTMENT_OF, DEPARTMENTS
from fangpin.synth.ids import excel_number, to_fullwidth, with_wrong_check
from fangpin.synth.xlsxio import EXCEL_EPOCH, Sheet, write_sheet

DIRT_RATE = 0.015
# Kinds of row dirt and their relative frequency.
DIRT_KINDS: dict[str, float] = {
    "blank_row": 0.15,
    "fullwidth_id": 0.15,
    "id_trailing_space": 0.15,
    "bad_check": 0.15,
    "id_as_number": 0.10,
    "duplicate_row": 0.15,
    "unknown_identity": 0.15,
}
# Spellings an office might use that are not the canonical identity names.
UNKNOWN_SPELLINGS: dict[str, tuple[str, ...]] = {
    "特困人员": ("特困供养人员", "五保户"),
    "孤儿": ("孤残儿童",),
    "事实无人抚养儿童": ("无人抚养儿童",),
    "低保对象": ("低保户", "城乡低保"),
    "高龄低收入老年人": ("高龄老人",),
    "低保边缘家庭成员": ("低保边缘户",),
    "返贫致贫人口": ("返贫户",),
    "脱贫不稳定户": ("脱贫不稳定",),
    "边缘易致贫户": ("边缘户",),
    "突发严重困难户": ("突发困难户",),
    "稳定脱贫人口": ("脱贫户", "建档立卡脱贫人口"),
    "因病致贫重病患者": ("因病致贫",),
    "1-2级残疾人": ("重度残疾人", "一级残疾"),
    "严重精神障碍患者": ("精神病患者",),
    "重点优抚对象": ("优抚对象",),
    "计划生育特殊困难家庭成员": ("计生特扶",),
}
_YOUFU_TYPES = (
    "伤残军人",
    "烈士遗属",
    "因公牺牲军人遗属",
    "在乡复员军人",
    "带病回乡退伍军人",
    "参战退役人员",
)


@dataclass(frozen=True)
class DeptFormat:
    """How one office lays out its list."""

    dept: str
    agency: str  # office name in titles, after the county name
    list_title: str
    sheet_name: str
    columns: tuple[tuple[str, str], ...]  # (header, field)
    date_style: str  # "cell" (Excel date), "dash" 2025-03-01, "dot" 2025.03.01, "compact" 20250301
    p_title: float  # share of files with a title row above the header


FORMATS: dict[str, DeptFormat] = {
    f.dept: f
    for f in (
        DeptFormat(
            "民政", "民政局", "困难群众救助对象名单", "Sheet1",
            (("序号", "seq"), ("乡镇（街道）", "township"), ("村（社区）", "village"), ("姓名", "name"),
             ("身份证号", "id"), ("人员类别", "identity"), ("认定日期", "begin"), ("退出日期", "end")),
            "cell", 0.6,
        ),
        DeptFormat(
            "乡村振兴", "农业农村局（乡村振兴局）", "脱贫人口及防返贫监测对象名单", "监测对象及脱贫人口",
            (("乡镇", "township"), ("行政村", "village"), ("姓名", "name"), ("公民身份号码", "id"),
             ("与户主关系", "relation"), ("身份类别", "identity"), ("纳入时间", "begin"), ("退出时间", "end")),
            "dash", 0.2,
        ),
        DeptFormat(
            "残联", "残疾人联合会", "一、二级重度残疾人名单", "重度残疾人",
            (("序号", "seq"), ("姓名", "name"), ("性别", "sex"), ("证件号码", "id"),
             ("残疾人证号", "cert_no"), ("残疾等级", "grade"), ("人员类别", "identity"),
             ("认定日期", "begin"), ("乡镇", "township"), ("村", "village")),
            "dot", 0.5,
        ),
        DeptFormat(
            "卫健", "卫生健康局", "严重精神障碍患者及计划生育特殊家庭名单", "Sheet1",
            (("姓名", "name"), ("身份证号码", "id"), ("人员类别", "identity"), ("纳入日期", "begin"),
             ("退出日期", "end"), ("乡镇", "township"), ("村", "village")),
            "cell", 0.3,
        ),
        DeptFormat(
            "退役军人事务", "退役军人事务局", "重点优抚对象名单", "优抚对象",
            (("序号", "seq"), ("姓名", "name"), ("身份证号", "id"), ("人员类别", "identity"),
             ("优抚类别", "yf_type"), ("认定日期", "begin"), ("退出日期", "end"), ("乡镇", "township"),
             ("村", "village")),
            "compact", 0.5,
        ),
    )
}  # fmt: skip


def dept_frames(
    rng: np.random.Generator, p: pl.DataFrame, idt: pl.DataFrame, villages: pl.DataFrame
) -> dict[str, pl.DataFrame]:
    """Per department: its identity spells joined with what its lists show of each person."""
    n = p.height
    # Facts an office keeps about a person, drawn once so they agree across months.
    category = rng.integers(1, 8, size=n).astype(str)  # 残疾类别 1 视力 … 7 多重
    grade = p["disability_grade"].to_numpy()
    yf = np.array(_YOUFU_TYPES)[rng.integers(0, len(_YOUFU_TYPES), size=n)]
    people = p.select(
        pl.int_range(0, n, dtype=pl.Int64).alias("person"),
        "name",
        pl.col("id_no").alias("id"),
        "sex",
        "relation",
        "village_code",
        "household_no",
        "pos",
        (pl.col("id_no") + pl.Series(category) + pl.Series(grade.astype(str))).alias("cert_no"),
        pl.Series(np.where(grade == 1, "一级", "二级")).alias("grade"),
        pl.Series(yf).alias("yf_type"),
    ).join(place_names(villages), on="village_code", how="left")
    spells = idt.with_columns(
        pl.col("psn_idet_type").replace_strict(DEPARTMENT_OF, return_dtype=pl.Utf8).alias("dept")
    )
    out = {}
    for dept in DEPARTMENTS:
        d = spells.filter(pl.col("dept") == dept).join(people, on="person", how="left")
        out[dept] = d.rename(
            {"psn_idet_type": "identity", "begndate": "begin", "enddate": "end"}
        ).sort(["village_code", "household_no", "pos", "identity"])
    return out


# Days between the date an identity takes effect and its approval reaching the office's list.
APPROVAL_LAG_DAYS = 46


def listed_from(id_no: pl.Expr, identity: pl.Expr, begin: pl.Expr) -> pl.Expr:
    """The day a spell is first on its office's lists: its begin date plus 0 to 45 days, a
    fixed function of the person's ID sequence digits and the identity's name (so anyone
    holding identities.csv can tell which list a spell first appears on)."""
    seq = id_no.str.slice(14, 3).cast(pl.Int64, strict=False).fill_null(0)
    lag = (seq * 7 + identity.str.len_chars().cast(pl.Int64)) % APPROVAL_LAG_DAYS
    return begin + pl.duration(days=lag)


def _date_expr(col: str, style: str) -> pl.Expr:
    if style == "cell":
        return (pl.col(col) - pl.lit(EXCEL_EPOCH)).dt.total_days()
    fmt = {"dash": "%Y-%m-%d", "dot": "%Y.%m.%d", "compact": "%Y%m%d"}[style]
    return pl.col(col).dt.strftime(fmt)


def month_rows(frame: pl.DataFrame, fmt: DeptFormat, year: int, month: int) -> list[list]:
    """Clean data rows of one month's list, cells in the format's column order."""
    first = dt.date(year, month, 1)
    last = dt.date(year + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
    listed = listed_from(pl.col("id"), pl.col("identity"), pl.col("begin"))
    snap = frame.filter(
        (listed <= last) & (pl.col("end").is_null() | (pl.col("end") >= first))
    ).with_columns(pl.when(pl.col("end") <= last).then(pl.col("end")).alias("end"))
    exprs = []
    for _, fld in fmt.columns:
        if fld == "seq":
            exprs.append(pl.lit(0).alias("seq"))
        elif fld in ("begin", "end"):
            exprs.append(_date_expr(fld, fmt.date_style).alias(fld))
        else:
            exprs.append(pl.col(fld))
    return [list(r) for r in snap.select(exprs).iter_rows()]


def _dirty(
    rows: list[list], fmt: DeptFormat, rng: np.random.Generator, first_data_row: int
) -> tuple[list[list | None], list[tuple[int, str]]]:
    """Damage a few rows; returns the final rows and (Excel row number, kind) records."""
    fields = [f for _, f in fmt.columns]
    id_col, ident_col = fields.index("id"), fields.index("identity")
    kinds = list(DIRT_KINDS)
    weights = np.array(list(DIRT_KINDS.values()))
    hit = rng.random(len(rows)) < DIRT_RATE
    pick = rng.choice(len(kinds), size=len(rows), p=weights / weights.sum())
    bumps = rng.integers(1, 11, size=len(rows))
    out: list[list | None] = []
    records: list[tuple[int, str]] = []
    for i, row in enumerate(rows):
        if not hit[i]:
            out.append(row)
            continue
        kind = kinds[pick[i]]
        if kind == "id_as_number" and row[id_col].endswith("X"):
            kind = "id_trailing_space"  # an ID ending in X cannot become a number
        if kind == "blank_row":
            out.append(None)
            records.append((first_data_row + len(out) - 1, kind))
            out.append(row)
            continue
        bad = list(row)
        if kind == "fullwidth_id":
            bad[id_col] = to_fullwidth(row[id_col])
        elif kind == "id_trailing_space":
            bad[id_col] = row[id_col] + " " * (1 + int(bumps[i]) % 2)
        elif kind == "bad_check":
            bad[id_col] = with_wrong_check(row[id_col], int(bumps[i]))
        elif kind == "id_as_number":
            bad[id_col] = excel_number(row[id_col])
        elif kind == "unknown_identity":
            options = UNKNOWN_SPELLINGS[row[ident_col]]
            bad[ident_col] = options[int(bumps[i]) % len(options)]
        if kind == "duplicate_row":
            out.append(row)
        out.append(bad)
        records.append((first_data_row + len(out) - 1, kind))
    return out, records


@dataclass
class DeptJob:
    """Files of one department to write: picklable, so a worker process can run it."""

    out_dir: Path
    dept: str
    frame: pl.DataFrame
    months: list[int]
    seed: int
    year: int
    county: str


def file_name(dept: str, year: int, month: int) -> str:
    return f"{dept}_{year}{month:02d}.xlsx"


def run_job(job: DeptJob) -> list[dict]:
    """Write the job's files; per file returns ``file``, ``data_rows``, ``sheet_rows``, ``dirty``.

    ``dirty`` lists ``(row, kind)`` with 1-based Excel row numbers.
    """
    fmt = FORMATS[job.dept]
    fields = [f for _, f in fmt.columns]
    dept_i = DEPARTMENTS.index(job.dept)
    date_cols = frozenset(i for i, f in enumerate(fields) if f in ("begin", "end"))
    results = []
    for month in job.months:
        # One stream per file: the same dirt whichever process writes which file.
        rng = np.random.default_rng(np.random.SeedSequence([job.seed, 7, dept_i, month]))
        head: list[list | None] = []
        title = None
        if rng.random() < fmt.p_title:
            title = f"{job.county}{fmt.agency}{job.year}年{month}月{fmt.list_title}"
            head.append([title])
        head.append([h for h, _ in fmt.columns])
        clean = month_rows(job.frame, fmt, job.year, month)
        body, records = _dirty(clean, fmt, rng, first_data_row=len(head) + 1)
        if "seq" in fields:  # offices number the rows they send, duplicates included
            col, k = fields.index("seq"), 0
            for row in body:
                if row is not None:
                    k += 1
                    row[col] = k
        name = file_name(job.dept, job.year, month)
        write_sheet(
            Sheet(
                path=job.out_dir / name,
                sheet_name=fmt.sheet_name,
                rows=head + body,
                header_row=len(head) - 1,
                date_cols=date_cols if fmt.date_style == "cell" else frozenset(),
                title=title,
                created=dt.datetime(job.year, month, 1, 8, 30),
            )
        )
        dirty = ([(1, "title_row")] if title else []) + records
        results.append(
            {
                "file": name,
                "data_rows": len(clean),
                "sheet_rows": len(head) + len(body),
                "dirty": dirty,
            }
        )
    return results
