"""A department's monthly list (部门推送名单, RULES §6) read and checked row by row.

Offices lay their lists out their own way: a title row or two above the header (often merged
across the sheet), their own words for the columns (公民身份号码, 证件号码, 身份类别, 纳入时间…),
township cells merged over several rows, blank rows, a footer. `read_dept_list` finds the header
among the first rows, maps the columns it knows, and checks every data row: the ID (checksum, a
real birth date, not damaged by a number cell), a name, an identity it knows (RULES §1) that the
department pushes, valid dates, and no duplicates within the file. The result is the good rows,
the rejected rows (one line per problem: Excel row number, the column as the file names it, the
value as seen, the reason) and warnings that do not stop a row.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from decimal import Decimal
from functools import lru_cache
from operator import itemgetter
from pathlib import Path
from typing import Any

import polars as pl

from fangpin.policy.groups import DEPARTMENT_ALIASES, DEPARTMENTS, IDENTITIES
from fangpin.tabular.ids import birth_expr, check_ids, excel_general, sex_expr
from fangpin.tabular.io import TableError
from fangpin.tabular.xlsx import RawSheet, fill_merged, read_raw

HEADER_SCAN_ROWS = 10

# Column field -> the header words offices use (compared after `_header_key`).
HEADER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "id_no": (
        "身份证号",
        "公民身份号码",
        "证件号码",
        "身份证号码",
        "身份证",
        "身份证件号码",
        "证件号",
    ),
    "name": ("姓名", "人员姓名", "对象姓名", "名字"),
    "identity": ("人员类别", "身份类别", "人员身份", "对象类别", "身份类型", "人员类型", "类别"),
    "begin": ("认定日期", "纳入时间", "纳入日期", "认定时间", "开始日期", "享受日期"),
    "end": ("退出日期", "退出时间", "终止日期", "取消日期"),
    "township": ("乡镇", "乡镇(街道)", "乡(镇)", "乡镇街道", "所属乡镇", "镇(乡)", "街道(乡镇)"),
    "village": ("村", "村(社区)", "行政村", "村(居)", "社区", "所属村", "村委会"),
    "relation": ("与户主关系", "家庭关系"),
    "household": ("户编号", "户号", "家庭编号"),
}
REQUIRED = ("id_no", "name", "identity")
FIELD_LABEL = {
    "id_no": "身份证号", "name": "姓名", "identity": "人员类别", "begin": "认定日期",
    "end": "退出日期", "township": "乡镇", "village": "村",
}  # fmt: skip

# Sub-categories and spellings that mean a canonical identity (RULES §1) without doubt.
# Looser words (低保户, 五保户, 脱贫户) are rejected: guessing would put people in the wrong group.
IDENTITY_VARIANTS: dict[str, str] = {
    "集中供养特困人员": "特困人员",
    "分散供养特困人员": "特困人员",
    "城市低保对象": "低保对象",
    "农村低保对象": "低保对象",
    "城镇低保对象": "低保对象",
    "城乡低保对象": "低保对象",
    "一二级残疾人": "1-2级残疾人",
    "一级二级残疾人": "1-2级残疾人",
}
_DISABLED_1_2 = re.compile(r"^(1|一)级?[-－—–~～、至和,，/](2|二)级残疾人$")
_HALF = str.maketrans("（）－０１２３４５６７８９", "()-0123456789")

REJECT_SCHEMA = {"row": pl.Int64, "column": pl.String, "value": pl.String, "reason": pl.String}
FRAME_SCHEMA = {
    "row": pl.Int64, "id_raw": pl.String, "id_as_number": pl.Boolean, "id_digits": pl.String,
    "name_raw": pl.String, "identity_raw": pl.String, "begin_raw": pl.String, "begin": pl.Date,
    "begin_blank": pl.Boolean, "end_raw": pl.String, "end": pl.Date, "end_blank": pl.Boolean,
    "township": pl.String, "village": pl.String, "relation": pl.String, "household": pl.String,
}  # fmt: skip


@dataclass
class DeptList:
    """A checked list. `good`: row, id_no, name, identity, group, department, begin, end,
    township, village, relation, household, sex, birth_date. `rejects`/`warnings`: row, column,
    value, reason (a row may have several)."""

    good: pl.DataFrame
    rejects: pl.DataFrame
    warnings: pl.DataFrame
    sheet: str
    header_row: int  # Excel row number of the header
    columns: dict[str, str]  # field -> header text as in the file
    data_rows: int  # non-blank rows below the header
    skipped_rows: list[int] = field(default_factory=list)  # blank or footer rows (Excel numbers)
    # Who the rejected rows seem to mean: row, id_no (normalised), id_ok, id_digits, name.
    held: pl.DataFrame | None = None

    @property
    def rejected_rows(self) -> int:
        return self.rejects["row"].n_unique()


def canonical_department(dept: str) -> str:
    """民政局 -> 民政, 农业农村 -> 乡村振兴; ValueError for a department nobody knows."""
    d = dept.strip()
    d = DEPARTMENT_ALIASES.get(d, d)
    if d not in DEPARTMENTS:
        known = "、".join(DEPARTMENTS)
        raise ValueError(f"unknown department {dept!r} (known: {known})")
    return d


def _header_key(text: Any) -> str:
    s = str(text or "").translate(_HALF)
    return re.sub(r"[\s*＊:：]", "", s)


_SYNONYM_FIELD = {_header_key(w): f for f, words in HEADER_SYNONYMS.items() for w in words}


def map_header(row: list[Any]) -> dict[str, int]:
    """Field -> column index for the cells of `row` that name a known column (first wins)."""
    found: dict[str, int] = {}
    for i, cell in enumerate(row):
        f = _SYNONYM_FIELD.get(_header_key(cell))
        if f and f not in found:
            found[f] = i
    return found


def find_header(rows: list[list[Any]], scan: int = HEADER_SCAN_ROWS) -> int | None:
    """Index of the header row: the first of the top rows naming ID, name and identity."""
    best, best_n = None, 0
    for i, row in enumerate(rows[:scan]):
        found = map_header(row)
        if all(f in found for f in REQUIRED) and len(found) > best_n:
            best, best_n = i, len(found)
    return best


def canonical_identity(text: str) -> str | None:
    """The canonical identity name (RULES §1) for a department's spelling, or None."""
    s = re.sub(r"\s", "", str(text)).translate(_HALF)
    if s in IDENTITIES:
        return s
    if s in IDENTITY_VARIANTS:
        return IDENTITY_VARIANTS[s]
    if _DISABLED_1_2.match(s):
        return "1-2级残疾人"
    return None


@lru_cache(maxsize=8192)
def _parse_date_text(s: str) -> dt.date | None:
    s = s.strip().replace("年", "-").replace("月", "-").replace("日", "")
    s = s.split(" ")[0].split("T")[0]
    for fmt in ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d"):
        try:
            d = dt.datetime.strptime(s, fmt).date()
        except ValueError:
            continue
        return d if d.year >= 1900 else None
    return None


def parse_date_cell(v: Any) -> tuple[dt.date | None, bool]:
    """(date, blank) for a cell: a date cell, an Excel serial number, or text in the usual forms."""
    if v is None or v == "":
        return None, True
    if isinstance(v, dt.datetime):
        return v.date(), False
    if isinstance(v, dt.date):
        return v, False
    if isinstance(v, float | int) and not isinstance(v, bool):
        if 20_000 <= v <= 80_000:  # an Excel day number (1954..2119)
            return dt.date(1899, 12, 30) + dt.timedelta(days=int(v)), False
        if float(v).is_integer() and 19_000_101 <= v <= 21_001_231:  # 20250301 typed as a number
            return _parse_date_text(str(int(v))), False
        return None, False
    s = str(v).strip()
    if not s:
        return None, True
    return _parse_date_text(s), False


def _text(v: Any) -> str:
    if v is None:
        return ""
    if isinstance(v, float | int) and not isinstance(v, bool):
        return excel_general(v)
    if isinstance(v, dt.datetime | dt.date):
        return v.isoformat()[:10]
    return str(v).strip()


def _is_number(v: Any) -> bool:
    return isinstance(v, float | int) and not isinstance(v, bool)


def _number_digits(v: Any) -> str | None:
    """A number cell's significant digits (what Excel kept of an ID), to recognise the person a
    rejected row means; None for any other cell (text gets its digits in `_check`)."""
    if _is_number(v):
        return format(Decimal(repr(float(v))), "f").split(".")[0]
    return None


def _text_column(values: list[Any]) -> tuple[pl.Series, bool]:
    """Cells as text, and whether every cell was a text cell (or empty).

    A column of text cells, the usual case, goes to Polars in one call; any other cell is shown
    as `_text` shows it. Text is stripped later, in bulk; missing cells come out null.
    """
    try:
        return pl.Series(values, dtype=pl.String, strict=True), True
    except TypeError:
        texts = [v if type(v) is str else _text(v) for v in values]
        return pl.Series(texts, dtype=pl.String), False


# Text dates in these exact shapes are parsed by Polars (the same dates `strptime` gives for
# them); any other text goes through `parse_date_cell`.
_FAST_DATES = ((r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", "%Y-%m-%d"), (r"^[0-9]{8}$", "%Y%m%d"))
_DATE_LOOKUP = {"text": pl.String, "date": pl.Date, "blank": pl.Boolean}


def _text_dates(text: pl.Series) -> pl.DataFrame:
    """(date, blank) for each distinct text: each parsed once (lists repeat their dates)."""
    distinct = text.unique().drop_nulls().to_frame("text")
    fast = pl.lit(False)
    parsed = pl.lit(None, dtype=pl.Date)
    for pattern, fmt in reversed(_FAST_DATES):
        shaped = pl.col("text").str.contains(pattern)
        fast = fast | shaped
        parsed = (
            pl.when(shaped).then(pl.col("text").str.to_date(fmt, strict=False)).otherwise(parsed)
        )
    distinct = distinct.with_columns(fast.alias("fast"), parsed.alias("date"))
    quick = distinct.filter("fast").select(
        "text",
        pl.when(pl.col("date").dt.year() >= 1900).then(pl.col("date")).alias("date"),
        pl.lit(False).alias("blank"),
    )
    rest = distinct.filter(~pl.col("fast"))["text"].to_list()
    got = [parse_date_cell(v) for v in rest]
    slow = pl.DataFrame(
        {"text": rest, "date": [d for d, _ in got], "blank": [b for _, b in got]},
        schema=_DATE_LOOKUP,
    )
    return pl.concat([quick, slow])


def _date_column(values: list[Any], text: pl.Series, all_text: bool) -> tuple[pl.Series, pl.Series]:
    """(date, blank) per cell as `parse_date_cell` sees it, each distinct value parsed once."""
    if all_text:
        found = text.to_frame("text").join(
            _text_dates(text), on="text", how="left", maintain_order="left"
        )
        return found["date"], found["blank"].fill_null(True)  # a missing cell is blank
    memo: dict[tuple[type, Any], tuple[dt.date | None, bool]] = {}
    dates, blanks = [], []
    for v in values:
        key = (type(v), v)
        got = memo.get(key)
        if got is None:
            got = memo[key] = parse_date_cell(v)
        dates.append(got[0])
        blanks.append(got[1])
    return pl.Series(dates, dtype=pl.Date), pl.Series(blanks, dtype=pl.Boolean)


def _id_columns(ids: list[Any]) -> tuple[pl.Series, pl.Series, pl.Series]:
    """(text, typed into a number cell, that number's digits) per ID cell."""
    n = len(ids)
    text, all_text = _text_column(ids)
    if all_text:
        return (
            text,
            pl.repeat(False, n, dtype=pl.Boolean, eager=True),
            pl.repeat(None, n, dtype=pl.String, eager=True),
        )
    numeric = [False] * n
    digits: list[str | None] = [None] * n
    for i, v in enumerate(ids):
        if type(v) is not str and _is_number(v):
            numeric[i] = True
            digits[i] = _number_digits(v)
    return text, pl.Series(numeric, dtype=pl.Boolean), pl.Series(digits, dtype=pl.String)


def read_dept_list(
    path: str | Path, dept: str | None = None, *, today: dt.date | None = None
) -> DeptList:
    """Read and check a department list (xlsx, xls or csv). TableError if no header is found."""
    sheet = read_raw(path, looks_right=lambda rows: find_header(rows) is not None)
    return check_dept_rows(sheet, dept, file=str(path), today=today)


def check_dept_rows(
    sheet: RawSheet, dept: str | None = None, *, file: str = "list", today: dt.date | None = None
) -> DeptList:
    """Check the rows of a sheet already read (see `read_dept_list`)."""
    dept = canonical_department(dept) if dept else None
    h = find_header(sheet.rows)
    if h is None:
        raise TableError(
            file,
            f"no header row in the first {HEADER_SCAN_ROWS} rows: need columns for "
            "身份证号 (or 公民身份号码/证件号码), 姓名 and 人员类别 (or 身份类别/人员身份)",
        )
    fill_merged(sheet, below=h)
    header = sheet.rows[h]
    cols = map_header(header)
    columns = {f: _text(header[i]) for f, i in cols.items()}
    data = sheet.rows[h + 1 :]
    frame, skipped = _frame(sheet, h, data, cols)
    good, rejects, warnings, held = _check(frame, cols, columns, dept, today)
    return DeptList(
        held=held,
        good=good,
        rejects=rejects,
        warnings=warnings,
        sheet=sheet.name,
        header_row=sheet.excel_row(h),
        columns=columns,
        data_rows=frame.height,
        skipped_rows=skipped,
    )


def _frame(
    sheet: RawSheet, h: int, data: list[list[Any]], cols: dict[str, int]
) -> tuple[pl.DataFrame, list[int]]:
    """One column per known field, as text (dates parsed), keeping the Excel row numbers."""
    n = len(data)
    width = max(cols.values()) + 1
    for r in data:
        if len(r) < width:
            r.extend([""] * (width - len(r)))
    blank = [""] * n

    def cells(f: str) -> list[Any]:
        j = cols.get(f)
        return list(map(itemgetter(j), data)) if j is not None else blank

    id_raw, numeric, digits = _id_columns(cells("id_no"))
    first = sheet.excel_row(h + 1)
    frame = {
        "row": pl.int_range(first, first + n, dtype=pl.Int64, eager=True),
        "id_raw": id_raw, "id_as_number": numeric, "id_digits": digits,
        "name_raw": _text_column(cells("name"))[0],
        "identity_raw": _text_column(cells("identity"))[0],
    }  # fmt: skip
    for f in ("begin", "end"):
        values = cells(f)
        text, all_text = _text_column(values)
        frame[f"{f}_raw"] = text
        frame[f], frame[f"{f}_blank"] = _date_column(values, text, all_text)
    for f in ("township", "village", "relation", "household"):
        frame[f] = _text_column(cells(f))[0]
    # In the schema's order and types, so a list with no data rows has the same columns.
    frame = pl.DataFrame([frame[c].alias(c).cast(t) for c, t in FRAME_SCHEMA.items()])
    text = [c for c, t in FRAME_SCHEMA.items() if t == pl.String and c != "id_digits"]
    frame = frame.with_columns(pl.col(text).fill_null("").str.strip_chars())
    # A row with no ID, name or identity is blank or a footer (合计, 制表人): not a person.
    person = (pl.col("id_raw") != "") | (pl.col("name_raw") != "") | (pl.col("identity_raw") != "")
    skipped = frame.filter(~person)["row"].to_list()
    return frame.filter(person), skipped


def _check(
    df: pl.DataFrame,
    cols: dict[str, int],
    columns: dict[str, str],
    dept: str | None,
    today: dt.date | None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    ids = check_ids(df["id_raw"], as_number=df["id_as_number"], today=today)
    canon = {v: canonical_identity(v) for v in df["identity_raw"].unique().to_list()}
    df = df.with_columns(
        ids["id_no"],
        ids["error"].alias("id_error"),
        ids["warning"].alias("id_warning"),
        _clean_name(pl.col("name_raw")).alias("name"),
        pl.col("identity_raw")
        .replace_strict(canon, default=None, return_dtype=pl.String)
        .alias("identity"),
    )
    group = {k: g for k, (g, _d) in IDENTITIES.items()}
    pusher = {k: d for k, (_g, d) in IDENTITIES.items()}
    df = df.with_columns(
        pl.col("identity")
        .replace_strict(group, default=None, return_dtype=pl.String)
        .alias("group"),
        pl.col("identity")
        .replace_strict(pusher, default=None, return_dtype=pl.String)
        .alias("pusher"),
    )
    label = {f: columns.get(f, FIELD_LABEL.get(f, f)) for f in FIELD_LABEL}
    problems: list[tuple[str, str, pl.Expr, pl.Expr]] = [
        # (field, raw column, bad?, reason)
        ("id_no", "id_raw", pl.col("id_error").is_not_null(), pl.col("id_error")),
        ("name", "name_raw", pl.col("name") == "", pl.lit("姓名为空")),
        ("identity", "identity_raw", pl.col("identity_raw") == "", pl.lit("人员类别为空")),
        (
            "identity",
            "identity_raw",
            (pl.col("identity_raw") != "") & pl.col("identity").is_null(),
            pl.format("人员类别「{}」不是可识别的身份名称（应为如「低保对象」「特困人员」的规范名称）", pl.col("identity_raw")),
        ),
        ("begin", "begin_raw", ~pl.col("begin_blank") & pl.col("begin").is_null(), pl.format("认定日期「{}」不是有效日期", pl.col("begin_raw"))),
        ("end", "end_raw", ~pl.col("end_blank") & pl.col("end").is_null(), pl.format("退出日期「{}」不是有效日期", pl.col("end_raw"))),
        (
            "end",
            "end_raw",
            (pl.col("end") < pl.col("begin")).fill_null(False),
            pl.format("退出日期 {} 早于认定日期 {}", pl.col("end"), pl.col("begin")),
        ),
    ]  # fmt: skip
    if "begin" in cols:
        problems.append(("begin", "begin_raw", pl.col("begin_blank"), pl.lit("认定日期为空")))
    if dept is not None:
        foreign = pl.col("pusher").is_not_null() & (pl.col("pusher") != dept)
        problems.append(
            (
                "identity",
                "identity_raw",
                foreign,
                pl.format(
                    "「{}」由{}推送，不属于{}的名单",
                    pl.col("identity"),
                    pl.col("pusher"),
                    pl.lit(dept),
                ),
            )
        )
    rejects = _problems(df, problems, label)
    bad_rows = rejects["row"].unique()
    leading_digits = pl.col("id_no").str.extract(r"^(\d*)", 1).fill_null("")
    held = df.filter(pl.col("row").is_in(bad_rows.implode())).select(
        "row", "id_no", pl.col("id_error").is_null().alias("id_ok"),
        pl.coalesce("id_digits", leading_digits).alias("id_digits"), "name",
    )  # fmt: skip
    good = df.filter(~pl.col("row").is_in(bad_rows.implode()))
    good, dup_rejects = _duplicates(good, label)
    rejects = pl.concat([rejects, dup_rejects]).sort("row", maintain_order=True)
    warnings = _problems(
        good,
        [("id_no", "id_no", pl.col("id_warning").is_not_null(), pl.col("id_warning"))],
        label,
    )
    good = good.select(
        "row",
        "id_no",
        "name",
        "identity",
        "group",
        pl.col("pusher").alias("department"),
        "begin",
        "end",
        "township",
        "village",
        "relation",
        "household",
        sex_expr(pl.col("id_no")).alias("sex"),
        birth_expr(pl.col("id_no")).alias("birth_date"),
    )
    return good, rejects, warnings, held


def _clean_name(col: pl.Expr) -> pl.Expr:
    """Spaces inside a Chinese name are typing noise; a Latin-letter name keeps single spaces."""
    s = col.str.strip_chars()
    latin = s.str.contains(r"[A-Za-z]")
    return (
        pl.when(latin).then(s.str.replace_all(r"\s+", " ")).otherwise(s.str.replace_all(r"\s", ""))
    )


def _problems(df: pl.DataFrame, problems, label: dict[str, str]) -> pl.DataFrame:
    parts = []
    for f, raw, bad, reason in problems:
        hit = df.filter(bad)
        if hit.height:
            parts.append(
                hit.select(
                    "row",
                    pl.lit(label.get(f, f)).alias("column"),
                    pl.col(raw).cast(pl.String).alias("value"),
                    reason.cast(pl.String).alias("reason"),
                )
            )
    if not parts:
        return pl.DataFrame(schema=REJECT_SCHEMA)
    return pl.concat(parts).sort("row", maintain_order=True)


def _duplicates(good: pl.DataFrame, label: dict[str, str]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Later rows repeating a person's identity, or giving an ID under another name, are rejected."""
    good = good.sort("row")
    first_row = pl.col("row").first()
    good = good.with_columns(
        first_row.over(["id_no", "identity"]).alias("_first_same"),
        first_row.over("id_no").alias("_first_id"),
        pl.col("name").first().over("id_no").alias("_first_name"),
    )
    same = pl.col("row") != pl.col("_first_same")
    other_name = pl.col("name") != pl.col("_first_name")
    problems = [
        ("id_no", "id_no", same & ~other_name, pl.format("重复：与第 {} 行为同一人、同一人员类别", pl.col("_first_same"))),
        ("name", "name", other_name, pl.format("身份证号与第 {} 行相同，但姓名不同（第 {} 行为「{}」）", pl.col("_first_id"), pl.col("_first_id"), pl.col("_first_name"))),
    ]  # fmt: skip
    rejects = _problems(good, problems, label)
    kept = good.filter(~(same | other_name)).drop("_first_same", "_first_id", "_first_name")
    return kept, rejects
