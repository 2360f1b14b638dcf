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
dated after it, or sums the claims up to it when those are fewer. A run reads only the people
some rule can flag (`read_screening_sums` with the rules' lowest bounds as floors: on a county's
ledger about one person in ten) and counts everyone's claims apart.
`load_settled_claims` gives the claims one by one (a household's file, checks). On PostgreSQL
rows travel with COPY … TO STDOUT and are parsed by Polars in one go: fetching them as Python
tuples would cost more than the screening itself.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import polars as pl
from django.apps import apps
from django.db import connection, models, transaction

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
        # COPY cannot take bound parameters; every parameter here (a date, an integer or a
        # list of person keys) is rendered by the driver's own literal quoting.
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


# A reader may leave out the people no rule can flag: per rule (measure, kinds of claim it
# counts, its lowest bound in fen), as `engine.screen.lowest_bounds` gives them. A person is
# kept when for some rule the sum of its measure over its kinds is strictly above its bound.
Floor = tuple[str, frozenset[int], int]
# Each measure as signed sums of the year-sum columns of one kind (RULES §3, `measure_expr`).
_MEASURE_TERMS: dict[str, tuple[tuple[int, str], ...]] = {
    "psn_part_amt": ((1, "psn_part_amt"),),
    "inscp_selfpay": (
        (1, "inscp_scp_amt"),
        (-1, "hifp_pay"),
        (-1, "hifmi_pay"),
        (-1, "maf_pay"),
        (-1, "oth_pay"),
    ),
}


def _terms(measure: str) -> tuple[tuple[int, str], ...]:
    try:
        return _MEASURE_TERMS[measure]
    except KeyError:
        raise ValueError(f"no year-sum reading of warning measure {measure!r}") from None


def _floor_sql(floors: Sequence[Floor]) -> str:
    """The WHERE condition keeping the year-sum rows above some floor. A kind counts only when
    it has a valid claim (n{k} > 0), as `load_screening_sums` keeps it; bounds are integers."""
    qn = connection.ops.quote_name
    ors = []
    for measure, kinds, bound in floors:
        parts = []
        for k in sorted(kinds):
            value = " ".join(
                f"{'+' if sign > 0 else '-'} COALESCE({qn(f'{c}_{k}')}, 0)"
                for sign, c in _terms(measure)
            )
            parts.append(f"CASE WHEN {qn(f'n{k}')} > 0 THEN 0 {value} ELSE 0 END")
        ors.append(f"({' + '.join(parts) or '0'}) > {int(bound)}")
    return " OR ".join(ors) or "FALSE"


def _floor_expr(floors: Sequence[Floor]) -> pl.Expr:
    """`_floor_sql` on a wide frame of `_wide_schema`."""
    ors = []
    for measure, kinds, bound in floors:
        total = pl.lit(0, dtype=pl.Int64)
        for k in sorted(kinds):
            value = pl.lit(0, dtype=pl.Int64)
            for sign, c in _terms(measure):
                value = value + sign * pl.col(f"{c}_{k}").fill_null(0)
            total = total + pl.when(pl.col(f"n{k}") > 0).then(value).otherwise(0)
        ors.append(total > int(bound))
    return pl.any_horizontal(ors) if ors else pl.lit(False)


def _floor_columns(floors: Sequence[Floor]) -> set[str]:
    return {c for measure, _kinds, _bound in floors for _sign, c in _terms(measure)}


def _valid_claims_expr() -> pl.Expr:
    """How many valid claims a wide row counts, as the long rows of `load_screening_sums` do
    (a kind only where it has any)."""
    return pl.sum_horizontal(
        pl.when(pl.col(f"n{k}") > 0).then(pl.col(f"n{k}")).otherwise(0) for k in KINDS
    )


def _kept(
    year: int, measures: tuple[str, ...], floors: Sequence[Floor] | None = None
) -> pl.DataFrame:
    """The year's sums as the claims ledger keeps them (`claims.YearSum`), one row a person;
    with `floors`, only the people above one (filtered in the database)."""
    from fangpin.claims.models import YearSum
    from fangpin.claims.sums import columns_of

    qn = connection.ops.quote_name
    cols = ", ".join(qn(c) for c in ("person_key", *columns_of(measures)))
    sql = f"SELECT {cols} FROM {qn(YearSum._meta.db_table)} WHERE {qn('year')} = %s"
    if floors is not None:
        sql += f" AND ({_floor_sql(floors)})"
    return _query_frame(sql, [year], _wide_schema(measures))


def _kept_claims(year: int) -> int:
    """How many valid claims the year's kept sums count (see `_valid_claims_expr`)."""
    from fangpin.claims.models import YearSum

    qn = connection.ops.quote_name
    count = " + ".join(f"CASE WHEN {qn(f'n{k}')} > 0 THEN {qn(f'n{k}')} ELSE 0 END" for k in KINDS)
    with connection.cursor() as cur:
        cur.execute(
            f"SELECT COALESCE(SUM({count}), 0) FROM {qn(YearSum._meta.db_table)} "
            f"WHERE {qn('year')} = %s",
            [year],
        )
        return int(cur.fetchone()[0])


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
    year: int,
    upto: dt.date,
    measures: tuple[str, ...],
    floors: Sequence[Floor] | None = None,
) -> tuple[pl.DataFrame, str]:
    """Per person key, the valid claims dated 1 January to `upto` counted and summed per kind
    (columns of `_wide_schema`; a kind with no claim gives 0 or null), and how it was found:

    * ``kept`` — the ledger's own year sums, when no claim of the year is dated after `upto`
      (or `upto` is the year's last day);
    * ``kept-less-later`` — the year sums less the claims dated after `upto`, when those are
      fewer than the claims up to it;
    * ``summed`` — the claims dated up to `upto` summed directly, when they are the fewer.

    With `floors`, only the people above one of them (see `Floor`).
    """
    wide, how, _n = _sums_wide(year, upto, measures, floors)
    return wide, how


def _sums_wide(
    year: int, upto: dt.date, measures: tuple[str, ...], floors: Sequence[Floor] | None
) -> tuple[pl.DataFrame, str, int]:
    """`screening_sums_wide`, and how many valid claims everyone's rows count, floors or not."""
    first, last = dt.date(year, 1, 1), dt.date(year, 12, 31)
    upto = min(upto, last)
    if floors is not None:
        missing = _floor_columns(floors) - set(measures)
        if missing:
            raise ValueError(f"floors need the measures {', '.join(sorted(missing))}")
    if upto < first:
        return pl.DataFrame(schema=_wide_schema(measures)), "summed", 0
    before, after = (0, 0) if upto == last else _claim_counts(first, upto, last)
    if after == 0:
        # The one case read filtered in the database: a floor over the kept sums is exact here.
        return _kept(year, measures, floors), "kept", _kept_claims(year)
    if after > before:
        wide, how = _summed(first, upto, measures), "summed"
    else:
        later = _summed(upto + dt.timedelta(days=1), last, measures)
        sums = [c for c in _wide_schema(measures) if c != "psn_no"]
        both = pl.concat(
            [
                _kept(year, measures),
                later.select("psn_no", *(-pl.col(c).fill_null(0) for c in sums)),
            ]
        )
        wide = both.group_by("psn_no").agg(pl.col(c).sum() for c in sums)
        how = "kept-less-later"
    n = int(wide.select(_valid_claims_expr().sum()).item() or 0)
    if floors is not None:
        wide = wide.filter(_floor_expr(floors))
    return wide, how, n


@dataclass(frozen=True)
class ScreeningSums:
    """What a screening run reads from the ledger: `claims` as `load_screening_sums` gives
    them, the number of valid claims of everyone screened (`total`, the people left out by a
    floor included) and how the sums were found (`screening_sums_wide`)."""

    claims: pl.DataFrame
    total: int
    how: str


def read_screening_sums(
    year: int,
    upto: dt.date,
    measures: tuple[str, ...] = ("psn_part_amt",),
    floors: Sequence[Floor] | None = None,
) -> ScreeningSums:
    """`load_screening_sums`, with `floors` leaving out the people no rule can flag (on a
    county's ledger most people: they need not travel from the database), and the count of
    valid claims everyone has."""
    if not claims_ledger_installed():
        raise ClaimsUnavailable(
            "结算台账(fangpin.claims)未安装：请提供已结算的单据数据(run_screening 的 claims 参数)"
        )
    unknown = set(measures) - set(AMOUNT_COLUMNS)
    if unknown:
        raise ValueError(f"unknown amount columns: {', '.join(sorted(unknown))}")
    upto = min(upto, dt.date(year, 12, 31))
    wide, how, total = _sums_wide(year, upto, tuple(measures), floors)
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
    claims = _with_kind(
        long.with_columns(pl.lit(upto, dtype=pl.Date).alias("setl_date"), *rest).select(
            "psn_no", "setl_date", "med_type", *AMOUNT_COLUMNS, "claims"
        )
    )
    return ScreeningSums(claims, total, how)


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
    return read_screening_sums(year, upto, measures).claims


def person_key_of(psn_no: str | None, id_no: str) -> str:
    """A ledger person's key: the platform's person number when it differs from the ID."""
    return psn_no or id_no


def screening_identities(date: dt.date, keys: Sequence[str] | None = None) -> pl.DataFrame:
    """Identities active on `date` as the engine's frame: psn_no (person key), group_bit,
    begndate, enddate. Identities of a group the rules do not know carry no bit and are left out.
    `keys` narrows them to these persons' (the people a floored read of the sums kept)."""
    qn = connection.ops.quote_name
    # "group" and "end" are SQL keywords: quoted.
    group, end = qn("group"), qn("end")
    key = "COALESCE(p.psn_no, p.id_no)"
    sql = (
        f"SELECT {key}, i.{group}, i.begin, i.{end} "
        f"FROM {Identity._meta.db_table} i JOIN {Person._meta.db_table} p ON p.id = i.person_id "
        "{keys}"
        f"WHERE i.begin <= %s AND (i.{end} IS NULL OR i.{end} >= %s)"
    )
    schema = {"psn_no": pl.String, "group": pl.String, "begndate": pl.Date, "enddate": pl.Date}
    if keys is not None and connection.vendor == "postgresql":
        with _keys_table(keys) as table, _planner(**_SERIAL_HASH):
            raw = _query_frame(
                sql.replace("{keys}", f"JOIN {table} k ON k.key = {key} "), [date, date], schema
            )
    else:
        raw = _query_frame(sql.replace("{keys}", ""), [date, date], schema)
        if keys is not None:
            raw = raw.filter(pl.col("psn_no").is_in(pl.Series(list(keys), dtype=pl.String)))
    return raw.filter(pl.col("group").is_in(list(GROUP_BIT))).select(
        "psn_no",
        pl.col("group").replace_strict(GROUP_BIT, return_dtype=pl.Int64).alias("group_bit"),
        "begndate",
        "enddate",
    )


def empty_identities() -> pl.DataFrame:
    return pl.DataFrame(schema=IDENTITY_SCHEMA)


@contextmanager
def _planner(**settings: str) -> Iterator[None]:
    """PostgreSQL planner settings for the statements inside, as they were afterwards (inside a
    transaction only: `set_config(..., true)` lasts until its end at most)."""
    if connection.vendor != "postgresql" or not connection.in_atomic_block:
        yield
        return
    with connection.cursor() as cur:
        cur.execute("SELECT " + ", ".join(["current_setting(%s)"] * len(settings)), list(settings))
        before = dict(zip(settings, cur.fetchone(), strict=True))
        for name, value in settings.items():
            cur.execute("SELECT set_config(%s, %s, true)", [name, value])
    try:
        yield
    finally:
        with connection.cursor() as cur:
            for name, value in before.items():
                cur.execute("SELECT set_config(%s, %s, true)", [name, value])


PERSON_SCHEMA: dict[str, pl.DataType] = {
    "psn_no": pl.String,
    "person": pl.Int64,
    "household": pl.Int64,
    "township": pl.Int64,
    "village": pl.Int64,
}


def persons_frame(keys: Sequence[str]) -> pl.DataFrame:
    """The people ledger's persons of these keys, one row a key it knows (PERSON_SCHEMA:
    the key as psn_no, then person, household, township and village ids). A key is a person's
    psn_no first, then the ID number of a person without one."""
    keys = sorted(set(keys))
    if not keys:
        return pl.DataFrame(schema=PERSON_SCHEMA)
    table = Person._meta.db_table
    cols = ", ".join(
        f"p.{Person._meta.get_field(f).column}" for f in ("id", "household", "township", "village")
    )
    # `_by_id` 1 for a key found as an ID number: a psn_no match comes first.
    schema = {"psn_no": pl.String, "_by_id": pl.Int64, **{c: PERSON_SCHEMA[c] for c in
              ("person", "household", "township", "village")}}  # fmt: skip
    if connection.vendor == "postgresql":
        found = _persons_pg(keys, cols, schema)
    else:
        parts = []
        for i in range(0, len(keys), 400):
            part = keys[i : i + 400]
            marks = ", ".join(["%s"] * len(part))
            parts.append(
                _query_frame(
                    f"SELECT p.psn_no, 0, {cols} FROM {table} p WHERE p.psn_no IN ({marks}) "
                    f"UNION ALL SELECT p.id_no, 1, {cols} FROM {table} p "
                    f"WHERE p.id_no IN ({marks}) AND p.psn_no IS NULL",
                    [*part, *part],
                    schema,
                )
            )
        found = pl.concat(parts)
    # A key that is one person's psn_no and another's ID number names the first.
    return (
        found.sort("psn_no", "_by_id")
        .unique("psn_no", keep="first", maintain_order=True)
        .select(list(PERSON_SCHEMA))
    )


_KEYS_TABLE = "fangpin_person_keys"  # a temporary table of the session
# A serial plan with the keys' hash in memory: on a county's ledger (bench/screen_db.py) the
# parallel plans the planner chose otherwise took longer.
_SERIAL_HASH = {"max_parallel_workers_per_gather": "0", "work_mem": "64MB"}


@contextmanager
def _keys_table(keys: Sequence[str]) -> Iterator[str]:
    """A temporary table (key text) holding `keys`, analysed so the planner hashes it rather
    than the ledger it is joined with; yields its name (PostgreSQL). Joining people to it took
    a fraction of what the keys as an array literal, or bound as a parameter and the rows
    fetched as tuples, took on a county's ledger."""
    buf = io.BytesIO()
    pl.DataFrame({"key": list(keys)}, schema={"key": pl.String}).write_csv(
        buf, include_header=False
    )
    # Inside a transaction of its own (a savepoint in the caller's): the rows live until it ends.
    with transaction.atomic(), connection.cursor() as cur:
        cur.execute(
            f"CREATE TEMPORARY TABLE IF NOT EXISTS {_KEYS_TABLE} (key text) ON COMMIT DELETE ROWS"
        )
        cur.execute(f"DELETE FROM {_KEYS_TABLE}")
        with cur.cursor.copy(f"COPY {_KEYS_TABLE} (key) FROM STDIN WITH (FORMAT csv)") as copy:
            copy.write(buf.getvalue())
        cur.execute(f"ANALYZE {_KEYS_TABLE}")
        yield _KEYS_TABLE


def _persons_pg(keys: list[str], cols: str, schema: dict[str, pl.DataType]) -> pl.DataFrame:
    """`persons_frame`'s rows on PostgreSQL: one hash join of the keys with the people on
    the person's key (psn_no, else the ID number), the rows back through COPY."""
    with _keys_table(keys) as table, _planner(**_SERIAL_HASH):
        return _query_frame(
            f"SELECT k.key, CASE WHEN p.psn_no IS NULL THEN 1 ELSE 0 END, {cols} "
            f"FROM {table} k JOIN {Person._meta.db_table} p ON k.key = COALESCE(p.psn_no, p.id_no)",
            [],
            schema,
        )


def persons_by_key(
    keys: Sequence[str],
) -> dict[str, tuple[int, int | None, int | None, int | None]]:
    """key -> (person id, household id, township id, village id) for the keys the people
    ledger knows (`persons_frame`)."""
    return {key: tuple(rest) for key, *rest in persons_frame(keys).iter_rows()}


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


def take_ids(model: type[models.Model], n: int) -> pl.Series:
    """`n` ids taken from the sequence of `model`'s table (PostgreSQL), so rows can be written
    with their ids and the rows pointing at them built at once. They come back as one array in
    the driver's binary format (streamed a row each through COPY they took ten times longer),
    and the sequence is looked up once (`pg_get_serial_sequence` in the select list costs a
    catalog lookup per id)."""
    import psycopg
    from psycopg import sql as pgsql

    meta = model._meta
    # Django's cursors bind on the client side, which has no binary results: a plain one here.
    with connection.cursor() as cur, psycopg.Cursor(cur.cursor.connection) as raw:
        cur.execute("SELECT pg_get_serial_sequence(%s, %s)", [meta.db_table, meta.pk.column])
        sequence = cur.fetchone()[0]
        raw.execute(
            pgsql.SQL("SELECT array_agg(nextval({}::regclass)) FROM generate_series(1, {})").format(
                pgsql.Literal(sequence), pgsql.Literal(n)
            ),
            binary=True,
        )
        ids = raw.fetchone()[0] or []
    if len(ids) != n:
        raise RuntimeError(f"asked the sequence of {meta.db_table} for {n} ids, got {len(ids)}")
    return pl.Series("id", ids, dtype=pl.Int64)
