"""Writing a screening run's rows: tens of thousands of cases, events and flags at once.

The first run of a year opens a case for everyone above a bound; Django's `bulk_create` would
spend most of the run building model instances. On PostgreSQL rows go in with COPY; elsewhere
(SQLite) through `people.bulk.insert_rows` (one prepared statement). Values are plain Python
values in the order of the field names, or the columns of a Polars frame named after the
fields; foreign keys as ids. `select_frame` reads rows back the same way, as a frame.
"""

from __future__ import annotations

import datetime as dt
import io
import re
from collections.abc import Iterable, Sequence
from typing import Any

import polars as pl
from django.db import connection, models

from fangpin.people.bulk import insert_rows


def copy_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """Insert the rows; returns how many."""
    if connection.vendor != "postgresql":
        return insert_rows(model, fields, rows)
    from psycopg import sql as pgsql

    meta = model._meta
    columns = [meta.get_field(f).column for f in fields]
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        pgsql.Identifier(meta.db_table), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    rows = list(rows)
    if not rows:
        return 0
    _copy_csv(statement, pl.DataFrame(rows, orient="row", infer_schema_length=None))
    return len(rows)


def copy_frame(model: type[models.Model], frame: pl.DataFrame) -> int:
    """Insert a frame's rows; its columns are field names of `model`. Returns how many."""
    if frame.height == 0:
        return 0
    if connection.vendor != "postgresql":
        return insert_rows(model, frame.columns, frame.iter_rows())
    from psycopg import sql as pgsql

    meta = model._meta
    columns = [meta.get_field(f).column for f in frame.columns]
    statement = pgsql.SQL("COPY {} ({}) FROM STDIN WITH (FORMAT csv)").format(
        pgsql.Identifier(meta.db_table), pgsql.SQL(", ").join(map(pgsql.Identifier, columns))
    )
    _copy_csv(statement, frame)
    return frame.height


def _copy_csv(statement: Any, frame: pl.DataFrame) -> None:
    # Formatted as CSV by Polars in one go: feeding the rows one by one through the driver
    # cost a second per 150,000 rows. An empty string is quoted, so it stays an empty string;
    # None is written bare, which CSV COPY reads as NULL.
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="")
    data = buf.getvalue()
    with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
        for i in range(0, len(data), 1 << 22):
            copy.write(data[i : i + (1 << 22)])


def select_frame(
    model: type[models.Model], fields: Sequence[str], where: str = "", params: Sequence = ()
) -> pl.DataFrame:
    """The rows of `model` as a frame with one column per field (foreign keys as ids).

    `where` is SQL naming columns as `{field}`, with `%s` parameters (integers, dates and
    strings). PostgreSQL sends the rows with COPY … TO STDOUT, parsed by Polars in one go."""
    meta = model._meta
    qn = connection.ops.quote_name
    names = set(fields) | set(re.findall(r"{(\w+)}", where))
    column = {f: qn(meta.get_field(f).column) for f in names}
    sql = f"SELECT {', '.join(column[f] for f in fields)} FROM {qn(meta.db_table)}"
    if where:
        sql += " WHERE " + where.format(**column)
    schema = {f: _pl_type(meta.get_field(f)) for f in fields}
    if connection.vendor != "postgresql":
        args = [connection.ops.adapt_datefield_value(p) if isinstance(p, dt.date) else p
                for p in params]  # fmt: skip
        with connection.cursor() as cur:
            cur.execute(sql, args)
            return pl.DataFrame(cur.fetchall(), schema=schema, orient="row")
    from psycopg import sql as pgsql

    # COPY takes no bound parameters: each one is rendered by the driver's literal quoting.
    text = pgsql.SQL(sql.replace("%s", "{}")).format(*(pgsql.Literal(p) for p in params))
    statement = pgsql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(text)
    parts: list[bytes] = []
    with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
        for chunk in copy:
            parts.append(bytes(chunk))
    data = b"".join(parts)
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(io.BytesIO(data), has_header=False, new_columns=list(fields), schema=schema)


def next_ids(model: type[models.Model], n: int) -> pl.Series:
    """Take `n` ids from the table's sequence (PostgreSQL), so rows can be written with their
    ids and the rows pointing at them built at the same time, without reading them back. The
    ids come back through COPY: fetched as n Python tuples they cost more than taking them."""
    meta = model._meta
    if n <= 0:
        return pl.Series("id", [], dtype=pl.Int64)
    from psycopg import sql as pgsql

    statement = pgsql.SQL(
        "COPY (SELECT nextval(pg_get_serial_sequence({}, {})) FROM generate_series(1, {})) "
        "TO STDOUT"
    ).format(pgsql.Literal(meta.db_table), pgsql.Literal(meta.pk.column), pgsql.Literal(n))
    with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
        data = b"".join(bytes(chunk) for chunk in copy)
    ids = pl.read_csv(io.BytesIO(data), has_header=False, new_columns=["id"],
                      schema={"id": pl.Int64})["id"]  # fmt: skip
    if ids.len() != n:
        raise RuntimeError(f"asked the sequence of {meta.db_table} for {n} ids, got {ids.len()}")
    return ids


def update_columns(
    model: type[models.Model],
    fields: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    add_one: Sequence[str] = (),
) -> int:
    """Set `fields` of many rows by id: each row is (id, *values in the order of `fields`);
    the integer fields named in `add_one` go up by one in the same statement."""
    if not rows:
        return 0
    meta = model._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(f).column for f in fields]
    table = qn(meta.db_table)
    bumps = "".join(
        f", {qn(c)} = {table}.{qn(c)} + 1" for c in (meta.get_field(f).column for f in add_one)
    )
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # One statement over arrays instead of a round trip (or a CASE branch) per row.
            types = ["bigint", *(_pg_type(meta.get_field(f)) for f in fields)]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            names = ", ".join(["id", *(f"v{i}" for i in range(len(fields)))])
            sets = ", ".join(f"{qn(c)} = u.v{i}" for i, c in enumerate(columns)) + bumps
            cur.execute(
                f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS u({names}) "
                f"WHERE {table}.{qn('id')} = u.id",
                [list(col) for col in zip(*rows, strict=True)],
            )
        else:
            # One prepared UPDATE run by executemany (measured as fast as an UPDATE … FROM a
            # temporary table here); dates and timestamps repeat, so each is adapted once.
            sets = ", ".join(f"{qn(c)} = %s" for c in columns) + bumps
            cols = [list(col) for col in zip(*rows, strict=True)]
            for i, f in enumerate(fields, start=1):
                adapt = _adapter(meta.get_field(f))
                if adapt is not None:
                    cols[i] = _adapted(cols[i], adapt)
            cur.executemany(
                f"UPDATE {table} SET {sets} WHERE {qn('id')} = %s",
                list(zip(*cols[1:], cols[0], strict=True)),
            )
    return len(rows)


def _adapted(values: list, adapt) -> list:
    """The values as the database takes them, each distinct one adapted once (None stays)."""
    memo: dict = {}
    out = []
    for v in values:
        if v is not None:
            got = memo.get(v)
            if got is None:
                got = memo[v] = adapt(v)
            v = got
        out.append(v)
    return out


def _pg_type(field: models.Field) -> str:
    if isinstance(field, models.DateTimeField):
        return "timestamptz"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(
        field, models.BigIntegerField | models.PositiveSmallIntegerField | models.IntegerField
    ):
        return "bigint"
    return "text"


def _pl_type(field: models.Field) -> pl.DataType:
    if isinstance(field, models.DateTimeField):
        return pl.Datetime("us", "UTC")
    if isinstance(field, models.DateField):
        return pl.Date
    if isinstance(field, models.BooleanField):
        return pl.Boolean
    if isinstance(field, models.IntegerField | models.AutoField | models.ForeignKey):
        return pl.Int64
    return pl.String


def _adapter(field: models.Field):
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    return None
