"""Inserting many rows at once, for imports of whole county lists.

Django's `bulk_create` builds every model instance and prepares every value field by field —
about 70 µs a row on a small county server, so a 100,000-row list would spend most of a minute
there. Imports instead hand plain tuples to the database: PostgreSQL's COPY, or one prepared
INSERT run by `executemany` on SQLite (where only date and datetime values need adapting).
The rows are checked before they get here; constraints in the database still hold.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

from django.db import connection, models

BATCH = 10_000


def _adapter(field: models.Field):
    ops = connection.ops
    if isinstance(field, models.DateTimeField):
        return ops.adapt_datetimefield_value
    if isinstance(field, models.DateField):
        return ops.adapt_datefield_value
    return None


def insert_rows(
    model: type[models.Model], fields: Sequence[str], rows: Iterable[Sequence[Any]]
) -> int:
    """INSERT the rows (values in the order of `fields`, foreign keys as ids); returns the count."""
    meta = model._meta
    cols = [meta.get_field(f) for f in fields]
    qn = connection.ops.quote_name
    if connection.vendor == "postgresql":
        return _copy_rows(meta.db_table, [c.column for c in cols], rows)
    sql = (
        f"INSERT INTO {qn(meta.db_table)} ({', '.join(qn(c.column) for c in cols)}) "
        f"VALUES ({', '.join(['%s'] * len(cols))})"
    )
    # Dates repeat (one timestamp per import, a few thousand birth dates): adapt each once.
    adapt = [(i, a, {}) for i, a in ((i, _adapter(c)) for i, c in enumerate(cols)) if a is not None]
    it = iter(rows)
    n = 0
    with connection.cursor() as cur:
        while chunk := list(islice(it, BATCH)):
            if adapt:
                fixed = []
                for row in chunk:
                    row = list(row)
                    for i, a, memo in adapt:
                        v = row[i]
                        if v is not None:
                            got = memo.get(v)
                            if got is None:
                                got = memo[v] = a(v)
                            row[i] = got
                    fixed.append(row)
                chunk = fixed
            cur.executemany(sql, chunk)
            n += len(chunk)
    return n


def select_in(
    model: type[models.Model],
    key: str,
    values: Sequence[Any],
    fields: Sequence[str],
    *,
    chunk: int = 5_000,
) -> list[tuple]:
    """Rows (key, *fields) whose `key` is among `values`, in plain SQL: Django's `__in` lookup
    prepares every value one by one, which dominates for 100,000 ids. PostgreSQL gets the
    values as one array parameter (`= ANY(%s)`), SQLite a list of placeholders."""
    meta = model._meta
    qn = connection.ops.quote_name
    cols = ", ".join(qn(meta.get_field(f).column) for f in (key, *fields))
    head = f"SELECT {cols} FROM {qn(meta.db_table)} WHERE {qn(meta.get_field(key).column)}"
    array = connection.vendor == "postgresql"
    step = 50_000 if array else chunk
    out: list[tuple] = []
    with connection.cursor() as cur:
        for i in range(0, len(values), step):
            part = list(values[i : i + step])
            if array:
                cur.execute(f"{head} = ANY(%s)", [part])
            else:
                cur.execute(f"{head} IN ({', '.join(['%s'] * len(part))})", part)
            out.extend(cur.fetchall())
    return out


def select_rows(
    model: type[models.Model],
    fields: Sequence[str],
    where: str = "",
    params: Sequence[Any] = (),
    *,
    order_by: Sequence[str] = (),
) -> list[tuple]:
    """Rows of `fields` (model field names) in plain SQL, for reading a whole department's
    identities without building a model row each. `where` names columns as `{field}` and takes
    `%s` parameters (dates are adapted here). Date columns come back as dates on both databases
    (on SQLite through the converters Django registers for the declared column types)."""
    meta = model._meta
    qn = connection.ops.quote_name
    column = {f: qn(meta.get_field(f).column) for f in {*fields, *order_by}}
    for name in re.findall(r"{(\w+)}", where):
        column.setdefault(name, qn(meta.get_field(name).column))
    sql = f"SELECT {', '.join(column[f] for f in fields)} FROM {qn(meta.db_table)}"
    if where:
        sql += " WHERE " + where.format(**column)
    if order_by:
        sql += " ORDER BY " + ", ".join(column[f] for f in order_by)
    args = [
        connection.ops.adapt_datefield_value(v) if isinstance(v, dt.date) else v for v in params
    ]
    with connection.cursor() as cur:
        cur.execute(sql, args)
        return cur.fetchall()


def _copy_rows(table: str, columns: list[str], rows: Iterable[Sequence[Any]]) -> int:
    """PostgreSQL's COPY: one stream for all rows, several times faster than INSERTs."""
    qn = connection.ops.quote_name
    sql = f"COPY {qn(table)} ({', '.join(qn(c) for c in columns)}) FROM STDIN"
    n = 0
    with connection.cursor() as cur, cur.cursor.copy(sql) as copy:
        for row in rows:
            copy.write_row(row)
            n += 1
    return n
