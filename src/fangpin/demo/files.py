"""The generated county cut into what arrives each month (no Django).

`fangpin.synth.generate` writes a whole year: one enrollment file, one claims file, one births
file and the departments' lists month by month. A bureau receives the first three piecemeal,
so the demo cuts them by month: the enrollment records paid in the month (January also takes
those paid before the year, during the collection period, and records without a date), the
claims settled in the month, and the births known by the month's end. Every value is kept
as the generator wrote it (read and written as text).
"""

from __future__ import annotations

import calendar
import datetime as dt
import json
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from fangpin.synth.identities import DEPARTMENTS


@dataclass(frozen=True)
class Month:
    year: int
    month: int
    # None when nothing arrived that month (a header-only file is not something to import).
    enrollment: Path | None
    claims: Path | None
    births: Path | None
    lists: tuple[tuple[str, Path], ...]  # (department, its list for the month)

    @property
    def first(self) -> dt.date:
        return dt.date(self.year, self.month, 1)

    @property
    def last(self) -> dt.date:
        return dt.date(self.year, self.month, calendar.monthrange(self.year, self.month)[1])


def _read(path: Path) -> pl.DataFrame:
    return pl.read_csv(path, infer_schema_length=0)  # every column as text, exactly as written


def _month_of(col: str) -> pl.Expr:
    return pl.col(col).str.slice(0, 7)


def split_by_month(county_dir: Path, year: int) -> list[Month]:
    """Write `county_dir/months/*.csv` and return the twelve months' files."""
    out = county_dir / "months"
    out.mkdir(exist_ok=True)
    enrollment = _read(county_dir / "enrollment.csv")
    claims = _read(county_dir / "claims.csv")
    births = _read(county_dir / "births.csv")
    first = f"{year}-01"
    months: list[Month] = []
    for m in range(1, 13):
        key = f"{year}-{m:02d}"
        paid = _month_of("paid_date")
        parts = (
            enrollment.filter(paid.is_null() | (paid <= first))
            if m == 1
            else enrollment.filter(paid == key),
            claims.filter(_month_of("setl_date") == key),
            births.filter(_month_of("birth_date") <= key),
        )
        files: list[Path | None] = []
        for name, part in zip(("enrollment", "claims", "births"), parts, strict=True):
            path = out / f"{name}_{m:02d}.csv"
            path.unlink(missing_ok=True)
            if part.height:
                part.write_csv(path)
            files.append(path if part.height else None)
        lists = tuple(
            (d, county_dir / "dept" / f"{d}_{year}{m:02d}.xlsx")
            for d in DEPARTMENTS
            if (county_dir / "dept" / f"{d}_{year}{m:02d}.xlsx").exists()
        )
        months.append(Month(year, m, *files, lists))
    return months


def manifest_matches(county_dir: Path, facts: dict) -> bool:
    """True if `county_dir` already holds a generated county with exactly these facts."""
    try:
        manifest = json.loads((county_dir / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return all(manifest.get(k) == v for k, v in facts.items())
