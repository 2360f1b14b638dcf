"""Enrollment files and births files, read and checked row by row (no database).

An enrollment file (CSV or Excel; from the tax bureau or the insurance system) has a person
column (`psn_no` or 身份证号), and `name`, `year`, `insutype` (居民 / 职工 / 异地, or the
national codes 390 / 310), `tier`, `paid_date`, `stop_reason` (死亡 / 服刑), and optionally the
`township` and `village` the person is enrolled in (residents enrol through their township and
village, so the insurance system knows where everyone lives). A births file has
the baby's `psn_no` or ID, `name`, `birth_date` and `township` (a name or a code).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import polars as pl

from fangpin.tabular.deptlist import parse_date_cell
from fangpin.tabular.ids import check_ids, excel_general
from fangpin.tabular.io import TableError
from fangpin.tabular.xlsx import read_raw

ENROLLMENT_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": ("psn_no", "id_no", "身份证号", "公民身份号码", "证件号码", "身份证号码", "人员编号"),
    "name": ("name", "姓名", "psn_name"),
    "year": ("year", "年度", "参保年度", "缴费年度"),
    "insutype": ("insutype", "参保类型", "险种", "险种类型"),
    "tier": ("tier", "档次", "缴费档次"),
    "paid_date": ("paid_date", "缴费日期", "缴费时间"),
    "stop_reason": ("stop_reason", "停保原因", "暂停原因", "中断原因"),
    "township": ("township", "乡镇", "乡镇(街道)", "所属乡镇", "参保乡镇"),
    "village": ("village", "村", "村(社区)", "行政村", "所属村", "参保村"),
}
BIRTH_SYNONYMS: dict[str, tuple[str, ...]] = {
    "person": ENROLLMENT_SYNONYMS["person"],
    "name": ENROLLMENT_SYNONYMS["name"],
    "birth_date": ("birth_date", "出生日期", "出生时间"),
    "township": ("township", "township_code", "乡镇", "乡镇(街道)", "乡镇代码", "所属乡镇"),
}
INSUTYPES = {
    "居民": "居民", "城乡居民": "居民", "城乡居民医保": "居民", "城乡居民基本医疗保险": "居民", "390": "居民",
    "职工": "职工", "职工医保": "职工", "职工基本医疗保险": "职工", "310": "职工",
    "异地": "异地", "异地参保": "异地", "省外": "异地", "外省": "异地", "外省参保": "异地",
}  # fmt: skip
STOP_REASONS = {"": "", "死亡": "死亡", "服刑": "服刑", "在押": "服刑", "服刑人员": "服刑"}
REJECT_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}


@dataclass
class Checked:
    good: pl.DataFrame
    rejects: pl.DataFrame  # row, column, value, reason

    @property
    def rejected_rows(self) -> int:
        return self.rejects["row"].n_unique()


def _key(text: Any) -> str:
    return str(text or "").strip().replace("（", "(").replace("）", ")").lower()


def _columns(
    path: str | Path, synonyms: dict[str, tuple[str, ...]], required: tuple[str, ...]
) -> tuple[dict[str, list], list[int]]:
    """Cells per field (header on the first non-empty row) and each row's number in the file."""
    sheet = read_raw(path)
    if not sheet.rows:
        raise TableError(path, "the file is empty")
    header = sheet.rows[0]
    lookup = {_key(w): f for f, words in synonyms.items() for w in words}
    index: dict[str, int] = {}
    for i, cell in enumerate(header):
        f = lookup.get(_key(cell))
        if f and f not in index:
            index[f] = i
    for f in required:
        if f not in index:
            names = " / ".join(synonyms[f])
            raise TableError(path, f"missing column (one of: {names})", f)
    data = [r for r in sheet.rows[1:]]
    rownos = [sheet.excel_row(1 + i) for i in range(len(data))]
    keep = [i for i, r in enumerate(data) if any(str(c).strip() for c in r if c is not None)]
    cols = {f: [(data[i][j] if j < len(data[i]) else "") for i in keep] for f, j in index.items()}
    return cols, [rownos[i] for i in keep]


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | int) and not isinstance(v, bool):
        return excel_general(v)
    if isinstance(v, dt.date):
        return v.isoformat()[:10]
    return str(v).strip()


# What Python's str.strip() takes off: every character whose isspace() is true.
SPACES = (
    "\t\n\x0b\x0c\r\x1c\x1d\x1e\x1f \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005"
    "\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000"
)


def _texts(values: list[Any]) -> pl.Series:
    """`_text` of every cell, as a String series. A CSV's cells are all text: those are
    stripped in one Polars call; other columns are worked out once per distinct cell (told
    apart by type too, since 1, 1.0 and True are one key to a dict but not one cell)."""
    if all(v.__class__ is str for v in values):
        return pl.Series(values, dtype=pl.String).str.strip_chars(SPACES)
    return pl.Series(_each(_text, values), dtype=pl.String)


def _each(fn: Any, values: list[Any]) -> list[Any]:
    """fn of every value, called once per distinct (type, value)."""
    memo: dict[tuple[type, Any], Any] = {}
    out = []
    for v in values:
        key = (v.__class__, v)
        got = memo.get(key, memo)
        if got is memo:
            got = memo[key] = fn(v)
        out.append(got)
    return out


def _problems(df: pl.DataFrame, problems: list[tuple[str, str, pl.Expr, pl.Expr]]) -> pl.DataFrame:
    parts = [
        df.filter(bad).select(
            "row", pl.lit(col).alias("column"), pl.col(raw).alias("value"), reason.alias("reason")
        )
        for col, raw, bad, reason in problems
    ]
    return pl.concat([pl.DataFrame(schema=REJECT_SCHEMA), *parts]).sort("row", maintain_order=True)


def _person_columns(raw: list[Any]) -> pl.DataFrame:
    """person_key (normalised text), id_no (a valid ID or null), id_error."""
    as_number = pl.Series([isinstance(v, float | int) and not isinstance(v, bool) for v in raw])
    checked = check_ids(_texts(raw), as_number=as_number)
    return checked.select(
        pl.col("id_no").alias("person_key"),
        pl.when(pl.col("error").is_null()).then(pl.col("id_no")).alias("id_no"),
        pl.col("error").alias("id_error"),
    )


def read_enrollment(path: str | Path, year: int) -> Checked:
    """Check an enrollment file for year `year`.

    Good rows: row, person_key (a valid ID, or another person number to look up), id_no (the
    valid ID or null), id_error, name, year, insutype, tier, paid_date, stop_reason, township,
    village (names as given, empty when the file has none).
    """
    cols, rownos = _columns(path, ENROLLMENT_SYNONYMS, ("person", "insutype"))
    n = len(rownos)
    blank = [""] * n
    # A year's payments fall on a few hundred days: each parsed once.
    paid = _each(parse_date_cell, cols.get("paid_date", blank))
    df = pl.DataFrame(
        {
            "row": rownos,
            "name": _texts(cols.get("name", blank)),
            "year_raw": _texts(cols.get("year", [str(year)] * n)),
            "insutype_raw": _texts(cols.get("insutype", blank)),
            "tier": _texts(cols.get("tier", blank)),
            "paid_raw": _texts(cols.get("paid_date", blank)),
            "paid_date": [d for d, _ in paid],
            "stop_raw": _texts(cols.get("stop_reason", blank)),
            "township": _texts(cols.get("township", blank)),
            "village": _texts(cols.get("village", blank)),
        },
        # Typed explicitly: a file with a header and no rows must give empty columns of the
        # right types, not columns of nulls that the checks below cannot compare.
        schema_overrides={
            "row": pl.Int64,
            "paid_date": pl.Date,
            **dict.fromkeys(
                ("name", "year_raw", "insutype_raw", "tier", "paid_raw", "stop_raw",
                 "township", "village"),
                pl.String,
            ),
        },
    )
    df = pl.concat([df, _person_columns(cols["person"])], how="horizontal").with_columns(
        pl.col("year_raw").str.replace(r"\.0$", "").cast(pl.Int32, strict=False).alias("year"),
        pl.col("insutype_raw")
        .replace_strict(INSUTYPES, default=None, return_dtype=pl.String)
        .alias("insutype"),
        pl.col("stop_raw")
        .replace_strict(STOP_REASONS, default=None, return_dtype=pl.String)
        .alias("stop_reason"),
    )
    problems = [
        ("psn_no", "person_key", pl.col("person_key") == "", pl.lit("人员编号/身份证号为空")),
        ("year", "year_raw", pl.col("year").is_null() | (pl.col("year") != year), pl.format("年度「{}」不是 {}", pl.col("year_raw"), pl.lit(year))),
        ("insutype", "insutype_raw", pl.col("insutype").is_null(), pl.format("参保类型「{}」应为 居民 / 职工 / 异地", pl.col("insutype_raw"))),
        ("paid_date", "paid_raw", (pl.col("paid_raw") != "") & pl.col("paid_date").is_null(), pl.format("缴费日期「{}」不是有效日期", pl.col("paid_raw"))),
        ("stop_reason", "stop_raw", pl.col("stop_reason").is_null(), pl.format("停保原因「{}」应为空、死亡或服刑", pl.col("stop_raw"))),
    ]  # fmt: skip
    rejects = _problems(df, problems)
    good = df.filter(~pl.col("row").is_in(rejects["row"].implode())).select(
        "row",
        "person_key",
        "id_no",
        "id_error",
        "name",
        "year",
        "insutype",
        "tier",
        "paid_date",
        "stop_reason",
        "township",
        "village",
    )
    return Checked(good, rejects)


def read_births(path: str | Path) -> Checked:
    """Check a births file. Good rows: row, person_key, id_no (valid ID or null), name,
    birth_date, township (text as given: a name or a code)."""
    cols, rownos = _columns(path, BIRTH_SYNONYMS, ("person", "birth_date"))
    n = len(rownos)
    blank = [""] * n
    births = [parse_date_cell(v) for v in cols["birth_date"]]
    df = pl.DataFrame(
        {
            "row": rownos,
            "name": [_text(v) for v in cols.get("name", blank)],
            "birth_raw": [_text(v) for v in cols["birth_date"]],
            "birth_date": [d for d, _ in births],
            "township": [_text(v) for v in cols.get("township", blank)],
        },
        schema_overrides={"row": pl.Int64, "birth_date": pl.Date},
    )
    df = pl.concat([df, _person_columns(cols["person"])], how="horizontal")
    problems = [
        ("psn_no", "person_key", pl.col("person_key") == "", pl.lit("人员编号/身份证号为空")),
        (
            "birth_date",
            "birth_raw",
            pl.col("birth_date").is_null(),
            pl.format("出生日期「{}」不是有效日期", pl.col("birth_raw")),
        ),
    ]
    rejects = _problems(df, problems)
    good = (
        df.filter(~pl.col("row").is_in(rejects["row"].implode()))
        .select("row", "person_key", "id_no", "name", "birth_date", "township")
        .unique("person_key", keep="first", maintain_order=True)
    )
    return Checked(good, rejects)
