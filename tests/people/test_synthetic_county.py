"""A year of a synthetic county's department lists, against the record of what was damaged.

The generator writes each department's monthly workbook the way its office lays it out (titles,
own headers, date styles) and damages a few rows on purpose, listing every one in
dept/_dirty.csv. Reading must reject exactly the damaged rows that cannot be repaired, repair
the rest, and skip blank rows; importing the whole year must leave every identity the county
has with the department's dates.
"""

import datetime as dt
from pathlib import Path

import polars as pl
import pytest

from fangpin.people.models import DepartmentUpload, Identity, Person
from fangpin.people.services import import_list
from fangpin.synth.county import generate
from fangpin.tabular.deptlist import read_dept_list

REJECTED_KINDS = ("bad_check", "id_as_number", "duplicate_row", "unknown_identity")
REPAIRED_KINDS = ("fullwidth_id", "id_trailing_space")


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, people=800, year=2025, seed=5, workers=1)
    return out


def month_files(county: Path) -> list[Path]:
    return sorted((county / "dept").glob("*.xlsx"), key=lambda p: (p.stem[-2:], p.stem))


def test_every_damaged_row_is_rejected_repaired_or_skipped_as_its_kind_says(county):
    dirty = pl.read_csv(county / "dept" / "_dirty.csv")
    for path in month_files(county):
        lst = read_dept_list(path, path.stem.split("_")[0])
        mine = dirty.filter(pl.col("file") == path.name)

        def rows(kinds: list[str], mine: pl.DataFrame = mine) -> set[int]:
            return set(mine.filter(pl.col("kind").is_in(kinds))["row"].to_list())

        rejected = set(lst.rejects["row"].to_list())
        assert rejected == rows(list(REJECTED_KINDS)), path.name
        assert not rejected & rows(list(REPAIRED_KINDS)), path.name
        assert rows(["blank_row"]) <= set(lst.skipped_rows), path.name
        assert lst.header_row == (2 if rows(["title_row"]) else 1), path.name


@pytest.mark.django_db
def test_a_year_of_lists_imports_every_identity_with_its_departments_dates(
    county, settings, tmp_path
):
    settings.MEDIA_ROOT = tmp_path
    for path in month_files(county):
        month = int(path.stem[-2:])
        last_day = dt.date(2025 + month // 12, month % 12 + 1, 1) - dt.timedelta(days=1)
        import_list(path.stem.split("_")[0], path, last_day)
    assert DepartmentUpload.objects.count() == 60
    dates = {"begndate": pl.Date, "enddate": pl.Date}
    truth = pl.read_csv(county / "identities.csv", schema_overrides=dates).filter(
        pl.col("enddate").is_null() | (pl.col("enddate") >= dt.date(2025, 1, 1))
    )
    got = {
        (p, name, begin): end
        for p, name, begin, end in Identity.objects.values_list(
            "person__id_no", "name", "begin", "end"
        )
    }
    missing = [
        r
        for r in truth.iter_rows(named=True)
        if (r["psn_no"], r["psn_idet_type"], r["begndate"]) not in got
    ]
    assert missing == []
    # An end date the departments gave (within the year) is kept; open spells stay open
    # unless a department stopped listing them.
    for r in truth.iter_rows(named=True):
        end = got[(r["psn_no"], r["psn_idet_type"], r["begndate"])]
        if r["enddate"] is None:
            assert end is None, r
        else:
            assert end == r["enddate"], r
    assert Person.objects.count() == truth["psn_no"].n_unique()
    # The whole year again: every file is recognised, nothing changes.
    before = Identity.objects.count()
    for path in month_files(county):
        assert import_list(path.stem.split("_")[0], path).duplicate
    assert Identity.objects.count() == before
