"""Reading and writing tables by file extension: CSV (UTF-8 or GB18030) and Parquet."""

from __future__ import annotations

import io
from pathlib import Path

import polars as pl


class TableError(ValueError):
    """A file that cannot be used at all (unreadable, a column missing); names file and field."""

    def __init__(self, file: str | Path, message: str, field: str | None = None):
        self.file, self.field = str(file), field
        where = f"{Path(file).name}" + (f": column {field}" if field else "")
        super().__init__(f"{where}: {message}")


FORMATS = (".csv", ".parquet")


def table_format(path: str | Path) -> str:
    suffix = Path(path).suffix.lower()
    if suffix not in FORMATS:
        raise TableError(path, f"unknown file type {suffix or '(none)'}: use .csv or .parquet")
    return suffix


def first_data_row(path: str | Path) -> int:
    """The row number people see for the first data row: a CSV's header is row 1."""
    return 2 if table_format(path) == ".csv" else 1


def read_table(path: str | Path) -> pl.DataFrame:
    """Read a CSV (all columns as text, UTF-8 or GB18030) or a Parquet file."""
    path = Path(path)
    fmt = table_format(path)
    if not path.exists():
        raise TableError(path, "no such file")
    try:
        if fmt == ".parquet":
            return pl.read_parquet(path)
        return _read_csv(path)
    except TableError:
        raise
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TableError(path, f"cannot be read: {exc}") from None


def scan_table(path: str | Path) -> pl.DataFrame | pl.LazyFrame:
    """As read_table, but a Parquet file comes lazily (its schema read, its data not yet), so a
    query over it reads only what it needs and converts while reading."""
    path = Path(path)
    if table_format(path) != ".parquet":
        return read_table(path)
    if not path.exists():
        raise TableError(path, "no such file")
    try:
        lazy = pl.scan_parquet(path)
        lazy.collect_schema()
    except (pl.exceptions.PolarsError, OSError) as exc:
        raise TableError(path, f"cannot be read: {exc}") from None
    return lazy


def _read_csv(path: Path) -> pl.DataFrame:
    opts = {"infer_schema": False}
    try:
        df = pl.read_csv(path, **opts)
    except pl.exceptions.ComputeError as exc:
        if "utf-8" not in str(exc).lower():
            raise
        # Files from Windows offices are often GB18030 (a superset of GBK and GB2312).
        try:
            text = path.read_bytes().decode("gb18030")
        except UnicodeDecodeError:
            raise TableError(path, "neither UTF-8 nor GB18030 text") from None
        df = pl.read_csv(io.BytesIO(text.encode("utf-8")), **opts)
    # A UTF-8 byte-order mark from Excel's "CSV UTF-8" ends up in the first column's name.
    first = df.columns[0] if df.columns else None
    if first and first.startswith("\ufeff"):
        df = df.rename({first: first.lstrip("\ufeff")})
    return df.rename({c: c.strip() for c in df.columns})


def write_table(df: pl.DataFrame, path: str | Path) -> None:
    """Write by extension; a CSV is UTF-8 and written whole or not at all (temp file + rename)."""
    path = Path(path)
    fmt = table_format(path)
    tmp = path.with_name(f".{path.name}.part")
    if fmt == ".parquet":
        df.write_parquet(tmp, compression="lz4")  # fast to write and to read back
    else:
        df.write_csv(tmp)
    tmp.replace(path)


def rejects_path(out: str | Path) -> Path:
    """o.csv -> o.rejects.csv, next to the output."""
    out = Path(out)
    return out.with_name(f"{out.stem}.rejects.csv")
