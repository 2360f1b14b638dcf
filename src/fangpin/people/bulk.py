"""Inserting many rows at once, for imports of whole county lists.

Django's `bulk_create` builds every model instance and prepares every value field by field —
about 70 µs a row on a small county server, so a 100,000-row list would spend most of a minute
there. Imports instead hand plain tuples to the database: PostgreSQL's COPY, or one prepared
INSERT run by `executemany` on SQLite (where only date and datetime values need adapting).
The rows are checked before they get here; constraints in the database still hold.

Reading works the same way round: `select_in` looks many keys up in one statement (one JSON
array parameter on SQLite, one array on PostgreSQL) and `read_frame` returns whole columns as
a Polars frame — PostgreSQL sends them with COPY … TO STDOUT, SQLite hands dates over as text
that Polars parses at once instead of a Python date object made per value.
"""

from __future__ import annotations

import datetime as dt
import io
import json
import re
import sqlite3
from collections.abc import Iterable, Sequence
from itertools import islice
from typing import Any

import polars as pl
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


def _json_keys(values: Sequence[Any]) -> bool:
    """SQLite can take the keys as one JSON array (json_each, built in since 3.38)."""
    return sqlite3.sqlite_version_info >= (3, 38) and all(
        v.__class__ is str or v.__class__ is int for v in values
    )


def select_in(
    model: type[models.Model],
    key: str,
    values: Sequence[Any],
    fields: Sequence[str],
    *,
    chunk: int = 5_000,
    where: str = "",
    params: Sequence[Any] = (),
) -> list[tuple]:
    """Rows (key, *fields) whose `key` is among `values`, in plain SQL: Django's `__in` lookup
    prepares every value one by one, which dominates for 100,000 ids. PostgreSQL gets the
    values as one array parameter (`= ANY(%s)`), SQLite as one JSON array (`json_each`), or
    lists of placeholders where that is not available. `where` adds a condition in the
    manner of `select_rows`."""
    meta = model._meta
    qn = connection.ops.quote_name
    column = _columns(meta, (key, *fields), where)
    cols = ", ".join(column[f] for f in (key, *fields))
    head = f"SELECT {cols} FROM {qn(meta.db_table)} WHERE "
    if where:
        head += "(" + where.format(**column) + ") AND "
    head += column[key]
    extra = _adapt_params(params)
    array = connection.vendor == "postgresql"
    if not array and _json_keys(values):
        if not values:
            return []
        with connection.cursor() as cur:
            cur.execute(
                f"{head} IN (SELECT value FROM json_each(%s))", [*extra, json.dumps(values)]
            )
            return cur.fetchall()
    step = 50_000 if array else chunk
    out: list[tuple] = []
    with connection.cursor() as cur:
        for i in range(0, len(values), step):
            part = list(values[i : i + step])
            if array:
                cur.execute(f"{head} = ANY(%s)", [*extra, part])
            else:
                cur.execute(f"{head} IN ({', '.join(['%s'] * len(part))})", [*extra, *part])
            out.extend(cur.fetchall())
    return out


def _columns(meta, fields: Iterable[str], where: str = "") -> dict[str, str]:
    """Quoted column names of the fields, and of the `{field}`s a condition names."""
    qn = connection.ops.quote_name
    names = [*fields, *re.findall(r"{(\w+)}", where)]
    return {f: qn(meta.get_field(f).column) for f in names}


def _adapt_params(params: Sequence[Any]) -> list[Any]:
    return [
        connection.ops.adapt_datefield_value(v) if isinstance(v, dt.date) else v for v in params
    ]


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
    column = _columns(meta, (*fields, *order_by), where)
    sql = f"SELECT {', '.join(column[f] for f in fields)} FROM {qn(meta.db_table)}"
    if where:
        sql += " WHERE " + where.format(**column)
    if order_by:
        sql += " ORDER BY " + ", ".join(column[f] for f in order_by)
    with connection.cursor() as cur:
        cur.execute(sql, _adapt_params(params))
        return cur.fetchall()


def frame_schema(model: type[models.Model], fields: Sequence[str]) -> dict[str, pl.DataType]:
    """The Polars type of each field: dates, whole numbers (foreign keys as ids) or text."""
    out: dict[str, pl.DataType] = {}
    for f in fields:
        field = model._meta.get_field(f)
        if isinstance(field, models.DateTimeField):
            raise TypeError(f"{model.__name__}.{f}: read timestamps some other way")
        if isinstance(field, models.DateField):
            out[f] = pl.Date
        elif isinstance(field, models.BooleanField):
            raise TypeError(f"{model.__name__}.{f}: read booleans some other way")
        elif isinstance(
            field,
            models.IntegerField | models.AutoField | models.ForeignKey | models.BigIntegerField,
        ):
            out[f] = pl.Int64
        else:
            out[f] = pl.String
    return out


def read_frame(
    model: type[models.Model],
    fields: Sequence[str],
    where: str = "",
    params: Sequence[Any] = (),
    *,
    order_by: Sequence[str] = (),
    key: str | None = None,
    values: Sequence[Any] | None = None,
    distinct: bool = False,
) -> pl.DataFrame:
    """The rows of `model` as a frame with one column per field (named as the fields, foreign
    keys holding ids), in one statement. `where` and `params` as for `select_rows`; `key` and
    `values` keep the rows whose `key` is among `values` (as `select_in` does); `distinct`
    leaves out repeated rows.

    PostgreSQL sends the rows with COPY … TO STDOUT as CSV, parsed by Polars in one go (COPY
    takes no bound parameters: each is rendered by the driver's literal quoting). SQLite returns
    tuples; its dates are selected as text and parsed by Polars."""
    meta = model._meta
    qn = connection.ops.quote_name
    schema = frame_schema(model, fields)
    column = _columns(meta, (*fields, *order_by, *([key] if key else [])), where)
    postgres = connection.vendor == "postgresql"
    picked = [
        column[f] if postgres or schema[f] != pl.Date else f"CAST({column[f]} AS TEXT)"
        for f in fields
    ]
    sql = f"SELECT {'DISTINCT ' if distinct else ''}{', '.join(picked)} FROM {qn(meta.db_table)}"
    conditions, args = [], _adapt_params(params) if not postgres else list(params)
    if where:
        conditions.append("(" + where.format(**column) + ")")
    chunks: list[list[Any]] = [[]]
    if key is not None:
        values = list(values or ())
        if not values:
            return pl.DataFrame(schema=schema)
        if postgres:
            conditions.append(f"{column[key]} = ANY(%s)")
            args.append(values)
        elif _json_keys(values):
            conditions.append(f"{column[key]} IN (SELECT value FROM json_each(%s))")
            args.append(json.dumps(values))
        else:  # an old SQLite, or keys JSON cannot carry: chunks of placeholders
            chunks = [values[i : i + 5_000] for i in range(0, len(values), 5_000)]
            conditions.append(f"{column[key]} IN ({{}})")
    if conditions:
        sql += " WHERE " + " AND ".join(conditions)
    if postgres:
        if order_by:
            sql += " ORDER BY " + ", ".join(column[f] for f in order_by)
        return _copy_out(sql, args, schema)
    rows: list[tuple] = []
    with connection.cursor() as cur:
        for part in chunks:
            text = sql.replace("{}", ", ".join(["%s"] * len(part))) if part else sql
            if order_by and len(chunks) == 1:
                text += " ORDER BY " + ", ".join(column[f] for f in order_by)
            cur.execute(text, [*args, *_adapt_params(part)])
            rows += cur.fetchall()
    frame = _sqlite_frame(rows, schema)
    if len(chunks) > 1:
        frame = frame.unique(maintain_order=True) if distinct else frame
        frame = frame.sort(order_by, nulls_last=False, maintain_order=True) if order_by else frame
    return frame


def _sqlite_frame(rows: list[tuple], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    dates = [f for f, t in schema.items() if t == pl.Date]
    raw = {f: (pl.String if f in dates else t) for f, t in schema.items()}
    frame = pl.DataFrame(rows, schema=raw, orient="row")
    if not dates:
        return frame
    return frame.with_columns(pl.col(f).str.slice(0, 10).str.to_date("%Y-%m-%d") for f in dates)


def _copy_out(sql: str, params: list[Any], schema: dict[str, pl.DataType]) -> pl.DataFrame:
    from psycopg import sql as pgsql

    text = pgsql.SQL(sql.replace("%s", "{}")).format(*(pgsql.Literal(p) for p in params))
    statement = pgsql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(text)
    parts: list[bytes] = []
    with connection.cursor() as cur, cur.cursor.copy(statement) as copy:
        for chunk in copy:
            parts.append(bytes(chunk))
    data = b"".join(parts)
    if not data:
        return pl.DataFrame(schema=schema)
    return pl.read_csv(
        io.BytesIO(data),
        has_header=False,
        new_columns=list(schema),
        schema=schema,
        try_parse_dates=False,
    )


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


def update_rows(
    model: type[models.Model], fields: Sequence[str], rows: Sequence[Sequence[Any]]
) -> int:
    """Set `fields` of many rows by id; each row is (id, *values in the order of `fields`),
    foreign keys as ids. PostgreSQL: one UPDATE over arrays; SQLite: one prepared UPDATE run by
    `executemany` (Django's `bulk_update` builds a CASE branch per row, which SQLite then
    evaluates for every row it touches)."""
    if not rows:
        return 0
    meta = model._meta
    qn = connection.ops.quote_name
    cols = [meta.get_field(f) for f in fields]
    table = qn(meta.db_table)
    pk = qn(meta.pk.column)
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            types = ["bigint", *(_pg_type(c) for c in cols)]
            arrays = ", ".join(f"%s::{t}[]" for t in types)
            names = ", ".join(["id", *(f"v{i}" for i in range(len(cols)))])
            sets = ", ".join(f"{qn(c.column)} = u.v{i}" for i, c in enumerate(cols))
            cur.execute(
                f"UPDATE {table} SET {sets} FROM unnest({arrays}) AS u({names}) "
                f"WHERE {table}.{pk} = u.id",
                [list(col) for col in zip(*rows, strict=True)],
            )
            return len(rows)
        sets = ", ".join(f"{qn(c.column)} = %s" for c in cols)
        adapt = [(i, a, {}) for i, a in ((i, _adapter(c)) for i, c in enumerate(cols)) if a]
        args = []
        for row in rows:
            values = list(row[1:])
            for i, a, memo in adapt:
                v = values[i]
                if v is not None:
                    got = memo.get(v)
                    if got is None:
                        got = memo[v] = a(v)
                    values[i] = got
            values.append(row[0])
            args.append(values)
        cur.executemany(f"UPDATE {table} SET {sets} WHERE {pk} = %s", args)
    return len(rows)


def _pg_type(field: models.Field) -> str:
    if isinstance(field, models.DateTimeField):
        return "timestamptz"
    if isinstance(field, models.DateField):
        return "date"
    if isinstance(field, models.BooleanField):
        return "boolean"
    if isinstance(
        field, models.IntegerField | models.AutoField | models.ForeignKey | models.BigIntegerField
    ):
        return "bigint"
    return "text"
