"""Writing a screening run's rows: tens of thousands of cases, events and flags at once.

The first run of a year opens a case for everyone above a bound; Django's `bulk_create` would
spend most of the run building model instances. On PostgreSQL rows go in with COPY; elsewhere
(SQLite) through `people.bulk.insert_rows` (one prepared statement). Values are plain Python
values in the order of the field names; foreign keys as ids.
"""

from __future__ import annotations

import io
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
    # Formatted as CSV by Polars in one go: feeding the rows one by one through the driver
    # cost a second per 150,000 rows. An empty string is quoted, so it stays an empty string;
    # None is written bare, which CSV COPY reads as NULL.
    frame = pl.DataFrame(rows, orient="row", infer_schema_length=None)
    buf = io.BytesIO()
    frame.write_csv(buf, include_header=False, null_value="")
    data = buf.getvalue()
    with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
        for i in range(0, len(data), 1 << 22):
            copy.write(data[i : i + (1 << 22)])
    return len(rows)


def update_columns(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Set `fields` of many rows by id: each row is (id, *values in the order of `fields`)."""
    if not rows:
        return 0
    meta = model._meta
    qn = connection.ops.quote_name
    columns = [meta.get_field(f).column for f in fields]
    table = qn(meta.db_table)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # One statement over arrays instead of a round trip (or a CASE branch) per row.
            types = ["bigint", *(_pg_type(meta.get_field(f)) for f in fields)]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            names = ", ".join(["id", *(f"v{i}" for i in range(len(fields)))])
            sets = ", ".join(f"{qn(c)} = u.v{i}" for i, c in enumerate(columns))
            cur.execute(
                f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS u({names}) "
                f"WHERE {table}.{qn('id')} = u.id",
                [list(col) for col in zip(*rows, strict=True)],
            )
        else:
            sets = ", ".join(f"{qn(c)} = %s" for c in columns)
            adapt = [_adapter(meta.get_field(f)) for f in fields]
            cur.executemany(
                f"UPDATE {table} SET {sets} WHERE {qn('id')} = %s",
                [
                    [a(v) if a and v is not None else v for a, v in zip(adapt, r[1:], strict=True)]
                    + [r[0]]
                    for r in rows
                ],
            )
    return len(rows)


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


def _adapter(field: models.Field):
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    return None
