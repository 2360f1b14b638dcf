"""What a screening run reads from the database: settled claims, identities, ledger persons.

Everything is keyed on the *person key* the claims ledger files a person's year under: the
ledger person's psn_no, or their ID number when the platform uses it as the person number
(`fangpin.claims` `Claim.person_key`). The frames have the columns `engine.screen.screen` takes.

Settled claims come from the claims ledger (`fangpin.claims`) when that app is installed: a
claim's current amounts are its valid settlement (a ``settle`` row no ``cancel`` row points at)
plus the adjustments (补差) made against it, so a cancelled claim counts nothing and a
re-settled year counts what the person now bears. Without the claims app, the caller passes
the settled frame itself (`run_screening(..., claims=frame)`).

A screening run reads `load_screening_sums`: the same figures summed per person and kind of
claim, one row a person instead of one a claim (the screening only sums them). The claims
ledger keeps those sums per person-year as it is written (`fangpin.claims.sums`), so a run on
the current date reads them as they stand; a run on an earlier date takes away the claims
dated after it, or sums the claims up to it when those are fewer.
`load_settled_claims` gives the claims one by one (a household's file, checks). On PostgreSQL
rows travel with COPY … TO STDOUT and are parsed by Polars in one go: fetching them as Python
tuples would cost more than the screening itself.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence

import polars as pl
from django.apps import apps
from django.db import connection

from fangpin.people.models import Identity, Person
from fangpin.policy.groups import GROUP_BIT

AMOUNT_COLUMNS = ("psn_part_amt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
CLAIM_SCHEMA: dict[str, pl.DataType] = {
    "psn_no": pl.String,
    "setl_date": pl.Date,
    "med_type": pl.Int16,
    **{c: pl.Int64 for c in AMOUNT_COLUMNS},
}
IDENTITY_SCHEMA: dict[str, pl.DataType] = {
    "psn_no": pl.String,
    "group_bit": pl.Int64,
    "begndate": pl.Date,
    "enddate": pl.Date,
}


class ClaimsUnavailable(Exception):
    """There is no claims ledger to screen: the caller must pass the settled claims."""


def claims_ledger_installed() -> bool:
    return apps.is_installed("fangpin.claims")


def _with_kind(frame: pl.DataFrame) -> pl.DataFrame:
    # RULES §3: 11 general outpatient, 14 chronic, every other type (21, 23, 24, 52) inpatient.
    med = pl.col("med_type")
    kind = pl.when(med == 11).then(0).when(med == 14).then(1).otherwise(2).cast(pl.Int8)
    return frame.with_columns(kind.alias("kind"))


def _query_frame(sql: str, params: Sequence, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """Run a SELECT and return its rows as a frame with `schema` (column names in order)."""
    names = list(schema)
    if connection.vendor == "postgresql":
        # COPY cannot take bound parameters; every parameter here is a date or an integer
        # rendered by the driver's own literal quoting, so nothing from a user reaches the text.
        with connection.cursor() as cur:
            raw = cur.cursor
            from psycopg import sql as pgsql

            literal = pgsql.SQL(sql.replace("%s", "{}")).format(*(pgsql.Literal(p) for p in params))
            statement = pgsql.SQL("COPY ({}) TO STDOUT WITH (FORMAT csv)").format(literal)
            parts: list[bytes] = []
            with raw.copy(statement) as copy:
                for chunk in copy:
                    parts.append(bytes(chunk))
        data = b"".join(parts)
        if not data:
            return pl.DataFrame(schema=schema)
        return pl.read_csv(
            io.BytesIO(data),
            has_header=False,
            new_columns=names,
            schema=schema,
            try_parse_dates=False,
        )
    with connection.cursor() as cur:
        cur.execute(sql, list(params))
        rows = cur.fetchall()
    columns = {}
    for i, (name, dtype) in enumerate(schema.items()):
        values = pl.Series(name, [r[i] for r in rows])
        # SQLite hands dates back as text and sums as whatever type the column holds.
        if dtype == pl.Date and values.dtype == pl.String:
            values = values.str.to_date("%Y-%m-%d")
        columns[name] = values.cast(dtype)
    return pl.DataFrame(columns, schema=schema)


def _claims_sql(where: str) -> str:
    """A SELECT of each validly settled claim's current amounts (see the module's docstring)."""
    claim = apps.get_model("claims", "Claim")._meta.db_table
    settlement = apps.get_model("claims", "Settlement")._meta.db_table
    adjustment = apps.get_model("claims", "Adjustment")._meta.db_table
    tiers = ("psn_part_amt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
    adj_sums = ", ".join(f"SUM({t}) AS {t}" for t in tiers)
    current = {t: f"s.{t} + COALESCE(a.{t}, 0)" for t in tiers}
    return (
        f"SELECT c.person_key, c.setl_date, c.med_type, {current['psn_part_amt']}, c.inscp_scp_amt, "
        f"{current['hifp_pay']}, {current['hifmi_pay']}, {current['maf_pay']}, {current['oth_pay']} "
        f"FROM {claim} c JOIN {settlement} s ON s.claim_id = c.id AND s.kind = 'settle' "
        f"LEFT JOIN (SELECT settlement_id, {adj_sums} FROM {adjustment} GROUP BY settlement_id) a "
        f"ON a.settlement_id = s.id "
        f"WHERE {where} "
        f"AND NOT EXISTS (SELECT 1 FROM {settlement} x WHERE x.cancels_id = s.id)"
    )


def load_settled_claims(
    year: int, upto: dt.date, *, keys: Sequence[str] | None = None
) -> pl.DataFrame:
    """The year's validly settled claims dated 1 January to `upto`, one row a claim.

    Columns: psn_no (the person key), setl_date, med_type, kind (0 = 11, 1 = 14, 2 = 21),
    and psn_part_amt, inscp_scp_amt, hifp_pay, hifmi_pay, maf_pay, oth_pay in fen.
    `keys` narrows it to some persons (a household's file). Raises ClaimsUnavailable when the
    claims ledger is not installed.
    """
    if not claims_ledger_installed():
        raise ClaimsUnavailable(
            "结算台账(fangpin.claims)未安装：请提供已结算的单据数据(run_screening 的 claims 参数)"
        )
    first = dt.date(year, 1, 1)
    if upto < first:
        return _with_kind(pl.DataFrame(schema=CLAIM_SCHEMA))
    upto = min(upto, dt.date(year, 12, 31))
    where = "c.setl_date >= %s AND c.setl_date <= %s"
    params: list = [first, upto]
    if keys is not None:
        if not keys:
            return _with_kind(pl.DataFrame(schema=CLAIM_SCHEMA))
        frames = []
        for i in range(0, len(keys), 5_000):
            part = list(keys[i : i + 5_000])
            marks = ", ".join(["%s"] * len(part))
            frames.append(
                _query_frame(
                    _claims_sql(f"{where} AND c.person_key IN ({marks})"),
                    [*params, *part],
                    CLAIM_SCHEMA,
                )
            )
        return _with_kind(pl.concat(frames))
    return _with_kind(_query_frame(_claims_sql(where), params, CLAIM_SCHEMA))


KINDS = (0, 1, 2)  # 11 general outpatient, 14 chronic, 21 inpatient (RULES §3)
_MED_TYPE_OF_KIND = {0: 11, 1: 14, 2: 21}


def _wide_schema(measures: tuple[str, ...]) -> dict[str, pl.DataType]:
    """psn_no, then per kind the number of valid claims n{k} and each measure's sum."""
    schema: dict[str, pl.DataType] = {"psn_no": pl.String}
    for k in KINDS:
        schema[f"n{k}"] = pl.Int64
        schema.update({f"{m}_{k}": pl.Int64 for m in measures})
    return schema


def _summed(first: dt.date, last: dt.date, measures: tuple[str, ...]) -> pl.DataFrame:
    """Per person key, claims dated `first` to `last` summed from settlements and adjustments."""
    from fangpin.claims.sums import sums_sql

    # The planner is left to its own plan: on a county-size ledger (bench/screen_db.py)
    # its parallel hash join was as fast as any setting tried (merge join, no JIT, more
    # work_mem), and a serial plan was clearly slower.
    return _query_frame(sums_sql(measures), [first, last, first, last], _wide_schema(measures))


def _kept(year: int, measures: tuple[str, ...]) -> pl.DataFrame:
    """The year's sums as the claims ledger keeps them (`claims.YearSum`), one row a person."""
    from fangpin.claims.models import YearSum
    from fangpin.claims.sums import columns_of

    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in ("person_key", *columns_of(measures)))
    sql = f"SELECT {cols} FROM {qn(YearSum._meta.db_table)} WHERE {qn('year')} = %s"
    return _query_frame(sql, [year], _wide_schema(measures))


def _claim_counts(first: dt.date, upto: dt.date, last: dt.date) -> tuple[int, int]:
    """How many claims (any, settled or not) the year holds up to `upto` and after it; only
    the smaller count is exact, the other is known to be larger. Counted with a bound that
    grows tenfold until one side falls short of it, so the cost follows the smaller side."""
    claim = apps.get_model("claims", "Claim")._meta.db_table
    bounded = (
        f"SELECT COUNT(*) FROM (SELECT 1 FROM {claim} WHERE setl_date >= %s AND setl_date <= %s "
        "LIMIT %s) AS t"
    )
    later = upto + dt.timedelta(days=1)
    limit = 1
    with connection.cursor() as cur:
        while True:
            cur.execute(
                f"SELECT ({bounded}), ({bounded})", [first, upto, limit, later, last, limit]
            )
            before, after = (int(v) for v in cur.fetchone())
            if before < limit or after < limit:
                return before, after
            limit *= 10


def screening_sums_wide(
    year: int, upto: dt.date, measures: tuple[str, ...]
) -> tuple[pl.DataFrame, str]:
    """Per person key, the valid claims dated 1 January to `upto` counted and summed per kind
    (columns of `_wide_schema`; a kind with no claim gives 0 or null), and how it was found:

    * ``kept`` — the ledger's own year sums, when no claim of the year is dated after `upto`
      (or `upto` is the year's last day);
    * ``kept-less-later`` — the year sums less the claims dated after `upto`, when those are
      fewer than the claims up to it;
    * ``summed`` — the claims dated up to `upto` summed directly, when they are the fewer.
    """
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    upto = min(upto, last)
    if upto < first:
        return pl.DataFrame(schema=_wide_schema(measures)), "summed"
    before, after = (0, 0) if upto == last else _claim_counts(first, upto, last)
    if after == 0:
        return _kept(year, measures), "kept"
    if after > before:
        return _summed(first, upto, measures), "summed"
    later = _summed(upto + dt.timedelta(days=1), last, measures)
    sums = [c for c in _wide_schema(measures) if c != "psn_no"]
    both = pl.concat(
        [
            _kept(year, measures),
            later.select("psn_no", *(-pl.col(c).fill_null(0) for c in sums)),
        ]
    )
    return both.group_by("psn_no").agg(pl.col(c).sum() for c in sums), "kept-less-later"


def load_screening_sums(
    year: int, upto: dt.date, measures: tuple[str, ...] = ("psn_part_amt",)
) -> pl.DataFrame:
    """What `engine.screen.screen` needs from the ledger, summed in the database: one row per
    person key and kind of claim with any valid claim, dated `upto`, with the sums of
    `measures` (the other amount columns 0) and the number of valid claims they sum
    (`claims`). Screening only sums a person's claims of the year up to the date per med type,
    so these rows screen exactly as the claims themselves (a test holds both to the same
    result) while the database sends one row a person instead of one a claim. The sums come
    from the ledger's year sums where it can (`screening_sums_wide`).
    """
    if not claims_ledger_installed():
        raise ClaimsUnavailable(
            "结算台账(fangpin.claims)未安装：请提供已结算的单据数据(run_screening 的 claims 参数)"
        )
    unknown = set(measures) - set(AMOUNT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown amount columns: {', '.join(sorted(unknown))}")
    upto = min(upto, dt.date(year, 12, 31))
    wide, _how = screening_sums_wide(year, upto, tuple(measures))
    parts = [
        wide.filter(pl.col(f"n{k}") > 0).select(
            "psn_no",
            pl.lit(_MED_TYPE_OF_KIND[k], dtype=pl.Int16).alias("med_type"),
            *(pl.col(f"{m}_{k}").fill_null(0).alias(m) for m in measures),
            pl.col(f"n{k}").alias("claims"),
        )
        for k in KINDS
    ]
    long = pl.concat(parts)
    rest = [pl.lit(0, dtype=pl.Int64).alias(c) for c in AMOUNT_COLUMNS if c not in measures]
    return _with_kind(
        long.with_columns(pl.lit(upto, dtype=pl.Date).alias("setl_date"), *rest).select(
            "psn_no", "setl_date", "med_type", *AMOUNT_COLUMNS, "claims"
        )
    )


def person_key_of(psn_no: str | None, id_no: str) -> str:
    """A ledger person's key: the platform's person number when it differs from the ID."""
    return psn_no or id_no


def screening_identities(date: dt.date) -> pl.DataFrame:
    """Identities active on `date` as the engine's frame: psn_no (person key), group_bit,
    begndate, enddate. Identities of a group the rules do not know carry no bit and are left out."""
    qn = connection.ops.quote_name
    # "group" and "end" are SQL keywords: quoted.
    group, end = qn("group"), qn("end")
    sql = (
        f"SELECT COALESCE(p.psn_no, p.id_no), i.{group}, i.begin, i.{end} "
        f"FROM {Identity._meta.db_table} i JOIN {Person._meta.db_table} p ON p.id = i.person_id "
        f"WHERE i.begin <= %s AND (i.{end} IS NULL OR i.{end} >= %s)"
    )
    raw = _query_frame(
        sql,
        [date, date],
        {"psn_no": pl.String, "group": pl.String, "begndate": pl.Date, "enddate": pl.Date},
    )
    return raw.filter(pl.col("group").is_in(list(GROUP_BIT))).select(
        "psn_no",
        pl.col("group").replace_strict(GROUP_BIT, return_dtype=pl.Int64).alias("group_bit"),
        "begndate",
        "enddate",
    )


def empty_identities() -> pl.DataFrame:
    return pl.DataFrame(schema=IDENTITY_SCHEMA)


def _rows_where_in(column: str, values: list[str], fields: tuple[str, ...]) -> list[tuple]:
    """People-ledger rows (column, *fields) whose `column` is among `values`."""
    table = Person._meta.db_table
    cols = ", ".join([column, *(Person._meta.get_field(f).column for f in fields)])
    out: list[tuple] = []
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # One array parameter instead of tens of thousands of placeholders to format.
            cur.execute(f"SELECT {cols} FROM {table} WHERE {column} = ANY(%s)", [values])
            return list(cur.fetchall())
        for i in range(0, len(values), 500):
            part = values[i : i + 500]
            marks = ", ".join(["%s"] * len(part))
            cur.execute(f"SELECT {cols} FROM {table} WHERE {column} IN ({marks})", part)
            out += cur.fetchall()
    return out


def persons_by_key(
    keys: Sequence[str],
) -> dict[str, tuple[int, int | None, int | None, int | None]]:
    """key -> (person id, household id, township id, village id) for the keys the people
    ledger knows: a person's psn_no first, then the ID number of a person without one."""
    keys = list(keys)
    if not keys:
        return {}
    fields = ("id", "household", "township", "village")
    out: dict[str, tuple] = {}
    for key, psn_no, *rest in _rows_where_in("id_no", keys, ("psn_no", *fields)):
        # A person with a platform number is keyed by that number, not by the ID.
        if psn_no is None:
            out[key] = tuple(rest)
    for key, *rest in _rows_where_in("psn_no", keys, fields):
        out[key] = tuple(rest)
    return out


def claims_totals(keys: Sequence[str], year: int) -> dict[str, dict[str, int]]:
    """Per person key, the year's settled claims: number and fen sums (for the household file).
    Empty when there is no claims ledger."""
    if not claims_ledger_installed() or not keys:
        return {}
    frame = load_settled_claims(year, dt.date(year, 12, 31), keys=keys)
    sums = frame.group_by("psn_no").agg(
        pl.len().alias("claims"),
        pl.col("psn_part_amt").sum(),
        pl.col("inscp_scp_amt").sum(),
        (pl.col("hifp_pay") + pl.col("hifmi_pay") + pl.col("maf_pay") + pl.col("oth_pay"))
        .sum()
        .alias("fund_pay_sumamt"),
        (pl.col("kind") == 2).sum().alias("inpatient"),
    )
    return {
        row["psn_no"]: {k: int(v) for k, v in row.items() if k != "psn_no"}
        for row in sums.iter_rows(named=True)
    }
