"""Department spreadsheets: the dirty-row record is exact, and the lists say what they should."""

from __future__ import annotations

import calendar
import datetime as dt
import unicodedata
from collections import Counter
from pathlib import Path

import polars as pl
import pytest
from python_calamine import load_workbook
from stdnum.cn import ric

from fangpin.synth.deptlists import listed_from
from fangpin.synth.identities import DEPARTMENT_OF, IDENTITIES
from fangpin.synth.ids import check_char

ID_HEADERS = {"身份证号", "公民身份号码", "证件号码", "身份证号码"}
IDENTITY_HEADERS = {"人员类别", "身份类别"}
EXIT_HEADERS = {"退出日期", "退出时间"}
DIRT_KINDS = {
    "title_row", "blank_row", "fullwidth_id", "id_trailing_space", "bad_check",
    "id_as_number", "duplicate_row", "unknown_identity",
}  # fmt: skip


def _sheet(path: Path) -> list[list]:
    return load_workbook(str(path)).get_sheet_by_index(0).to_python(skip_empty_area=False)


def _dirty(county) -> dict[str, dict[int, str]]:
    out: dict[str, dict[int, str]] = {}
    for f, row, kind in county.csv("dept/_dirty.csv").iter_rows():
        out.setdefault(f, {})[int(row)] = kind
    return out


def _layout(rows: list[list], titled: bool) -> tuple[int, int, int, int | None]:
    """(header index, ID column, identity column, 序号 column or None)."""
    h = 1 if titled else 0
    header = rows[h]
    id_col = next(i for i, v in enumerate(header) if v in ID_HEADERS)
    ident_col = next(i for i, v in enumerate(header) if v in IDENTITY_HEADERS)
    seq_col = header.index("序号") if "序号" in header else None
    return h, id_col, ident_col, seq_col


def _kind_of(
    row: list, prev: list | None, id_col: int, ident_col: int, seq_col: int | None
) -> str | None:
    """What is wrong with a data row, judged from the cells alone (None: nothing)."""
    if all(v == "" for v in row):
        return "blank_row"
    cell = row[id_col]
    if isinstance(cell, float):
        return "id_as_number"
    if cell != cell.strip():
        return "id_trailing_space"
    if unicodedata.normalize("NFKC", cell) != cell:
        return "fullwidth_id"
    if not ric.is_valid(cell):
        return "bad_check"
    if row[ident_col] not in IDENTITIES:
        return "unknown_identity"
    if prev is not None:
        strip = [i for i in range(len(row)) if i != seq_col]
        if [row[i] for i in strip] == [prev[i] for i in strip]:
            return "duplicate_row"
    return None


def test_the_dirty_row_record_matches_the_spreadsheets_exactly(county20k):
    dirty = _dirty(county20k)
    assert set(k for d in dirty.values() for k in d.values()) <= DIRT_KINDS
    data_rows, seen = 0, Counter()
    for path in sorted((county20k.out / "dept").glob("*.xlsx")):
        rows = _sheet(path)
        record = dirty.get(path.name, {})
        titled = record.get(1) == "title_row"
        h, id_col, ident_col, seq_col = _layout(rows, titled)
        if titled:
            assert rows[0][0] and all(v == "" for v in rows[0][1:])
        found: dict[int, str] = {1: "title_row"} if titled else {}
        prev = None
        for i in range(h + 1, len(rows)):
            kind = _kind_of(rows[i], prev, id_col, ident_col, seq_col)
            if kind is not None:
                found[i + 1] = kind  # Excel rows are 1-based
            if kind != "blank_row":
                prev = rows[i]
                data_rows += 1
        assert found == record, path.name
        seen.update(found.values())
        if kind_bad := [r for r, k in record.items() if k == "bad_check"]:
            # a wrong check character, not some other damage
            cell = rows[kind_bad[0] - 1][id_col]
            assert ric.is_valid(cell[:17] + check_char(cell[:17]))
    assert set(seen) == DIRT_KINDS  # every kind of dirt occurs
    row_dirt = sum(n for k, n in seen.items() if k != "title_row")
    assert 0.008 < row_dirt / data_rows < 0.03


def _month_expected(idt: pl.DataFrame, dept: str, year: int, month: int) -> set[tuple[str, str]]:
    first = dt.date(year, month, 1).isoformat()
    last = dt.date(year, month, calendar.monthrange(year, month)[1]).isoformat()
    types = [t for t, d in DEPARTMENT_OF.items() if d == dept]
    begin = pl.col("begndate").str.to_date()
    listed = listed_from(pl.col("psn_no"), pl.col("psn_idet_type"), begin)
    active = idt.filter(
        pl.col("psn_idet_type").is_in(types)
        & (listed <= dt.date.fromisoformat(last))
        & (pl.col("enddate").is_null() | (pl.col("enddate") >= first))
    )
    return set(active.select("psn_no", "psn_idet_type").iter_rows())


@pytest.mark.parametrize("dept", sorted(set(DEPARTMENT_OF.values())))
@pytest.mark.parametrize("month", [1, 6, 12])
def test_each_list_holds_exactly_the_identities_active_in_its_month(county20k, dept, month):
    idt = county20k.csv("identities.csv")
    name = f"{dept}_2025{month:02d}.xlsx"
    record = _dirty(county20k).get(name, {})
    rows = _sheet(county20k.out / "dept" / name)
    h, id_col, ident_col, _ = _layout(rows, record.get(1) == "title_row")
    observed, unreadable = set(), 0
    for i in range(h + 1, len(rows)):
        row, kind = rows[i], record.get(i + 1)
        if kind == "blank_row":
            continue
        if kind in ("id_as_number", "unknown_identity"):
            unreadable += 1  # the person or the identity cannot be told from the row
            continue
        id_no = unicodedata.normalize("NFKC", row[id_col]).strip()
        if kind == "bad_check":
            id_no = id_no[:17] + check_char(id_no[:17])
        observed.add((id_no, row[ident_col]))
    expected = _month_expected(idt, dept, 2025, month)
    assert observed <= expected
    assert len(expected - observed) == unreadable


def test_some_identities_of_the_year_reach_the_lists_a_month_after_they_take_effect(county20k):
    idt = county20k.csv("identities.csv").with_columns(pl.col("begndate").str.to_date())
    late = idt.filter(pl.col("begndate").dt.year() == 2025).with_columns(
        listed_from(pl.col("psn_no"), pl.col("psn_idet_type"), pl.col("begndate")).alias("listed")
    )
    month = pl.col("listed").dt.month() - pl.col("begndate").dt.month()
    assert late.height > 0
    assert late.filter(month >= 1).height > 0  # first listed in a later month
    assert late.filter(month == 0).height > 0  # and some in their own month
    assert (late["listed"] - late["begndate"]).dt.total_days().max() < 46


def test_an_exit_date_is_shown_only_when_the_identity_ends_in_that_month(county20k):
    idt = county20k.csv("identities.csv")
    end_of = {(a, b): e for a, b, e in idt.select("psn_no", "psn_idet_type", "enddate").iter_rows()}
    record = _dirty(county20k).get("民政_202506.xlsx", {})
    rows = _sheet(county20k.out / "dept" / "民政_202506.xlsx")
    h, id_col, ident_col, _ = _layout(rows, record.get(1) == "title_row")
    exit_col = next(i for i, v in enumerate(rows[h]) if v in EXIT_HEADERS)
    shown = 0
    for i in range(h + 1, len(rows)):
        if record.get(i + 1) is not None:
            continue
        row = rows[i]
        end = end_of[(row[id_col], row[ident_col])]
        if row[exit_col] == "":
            assert end is None or end > "2025-06-30"
        else:
            shown += 1
            assert isinstance(row[exit_col], dt.date)  # 民政 writes real date cells
            assert row[exit_col].isoformat() == end and end >= "2025-06-01"
    assert shown > 0


def test_offices_use_their_own_headers(county20k):
    headers = {}
    for dept in sorted(set(DEPARTMENT_OF.values())):
        name = f"{dept}_202503.xlsx"
        record = _dirty(county20k).get(name, {})
        rows = _sheet(county20k.out / "dept" / name)
        headers[dept] = rows[1 if record.get(1) == "title_row" else 0]
    id_headers = {next(v for v in h if v in ID_HEADERS) for h in headers.values()}
    assert len(id_headers) >= 3
    assert all("姓名" in h for h in headers.values())
