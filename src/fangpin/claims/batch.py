"""The monthly batch: importing claims files, and settling a month's unsettled claims.

`import_claims` records claims from a file. A file with the paid columns (hifp_pay ..
psn_part_amt) holds claims already settled elsewhere (another province, a pharmacy): they are
recorded with what they were paid and count in the person-year's accumulators at once. A file
without them holds claims to settle here: `settle_month` settles them through `settle_batch`,
starting each person-year from its stored accumulators (earlier months and online claims).
Both are safe to re-run: a known setl_id is skipped, the same file is recognised by its hash,
and only claims without any settlement row are settled.
"""

from __future__ import annotations

import calendar
import datetime as dt
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from django.db import connection, transaction
from django.utils import timezone

from fangpin.claims import sums
from fangpin.claims.bulk import (
    count_unsettled,
    insert_claim_frame,
    insert_frame,
    json_int_lists,
    lock_years,
    person_identities,
    read_unsettled,
    roomy_cache,
    stamp,
    store_years,
    unsettled_keys,
)
from fangpin.claims.ledger import contributions, engine_claims, identity_table
from fangpin.claims.models import (
    CLAIM_AMOUNTS,
    RESULT_FIELDS,
    Claim,
    ClaimImport,
    ImportReject,
    Institution,
    Settlement,
)
from fangpin.engine import kernel as k
from fangpin.engine.settle import Accumulators, group_masks, settle_batch
from fangpin.people.bulk import select_in
from fangpin.people.models import Person
from fangpin.policy.registry import Pack
from fangpin.tabular.claims import validate_claims
from fangpin.tabular.io import TableError, first_data_row, read_table, table_format
from fangpin.tabular.values import amount_fen, any_bad, join_reasons
from fangpin.warnings.bulk import copy_rows

# A file of claims settled elsewhere carries every result field of the ledger.
PAID_COLUMNS = RESULT_FIELDS
CHUNK = 200_000  # person-years per transaction: a county's month fits in one


@dataclass
class ImportOutcome:
    claim_import: ClaimImport
    duplicate: bool  # the same file was imported before: nothing changed


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _chunks(values: list, size: int):
    for i in range(0, len(values), size):
        yield values[i : i + size]


def _paid(
    raw: pl.DataFrame, good: pl.DataFrame, file: str, row0: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The paid columns of the good rows in fen; rows with a bad or inconsistent amount rejected."""
    df = raw.select(PAID_COLUMNS).with_row_index("row", offset=row0)
    checks = {c: amount_fen(df, c) for c in PAID_COLUMNS}
    parsed = df.select(
        "row",
        *(v.value.alias(c) for c, v in checks.items()),
        any_bad(list(checks.values())).alias("_bad"),
        join_reasons(list(checks.values())).alias("_why"),
    )
    both = good.join(parsed, on="row", how="left")
    tiers = pl.col("hifp_pay") + pl.col("hifmi_pay") + pl.col("maf_pay") + pl.col("oth_pay")
    why = (
        pl.when(pl.col("_bad"))
        .then(pl.col("_why"))
        .when(pl.col("fund_pay_sumamt") != tiers)
        .then(pl.lit("fund_pay_sumamt: is not hifp_pay + hifmi_pay + maf_pay + oth_pay"))
        .when(
            pl.col("psn_part_amt")
            != pl.col("medfee_sumamt") - pl.col("fund_pay_sumamt") - pl.col("hosp_part_amt")
        )
        .then(pl.lit("psn_part_amt: is not medfee_sumamt − fund_pay_sumamt − hosp_part_amt"))
    )
    both = both.with_columns(why.alias("_reason"))
    bad = both.filter(pl.col("_reason").is_not_null())
    rejects = bad.select(
        pl.lit(Path(file).name).alias("file"),
        pl.col("row").cast(pl.Int64),
        pl.col("setl_id").alias("id"),
        pl.col("_reason").alias("reason"),
    )
    return both.filter(pl.col("_reason").is_null()).drop("_bad", "_why", "_reason"), rejects


def _people(psn_nos: list[str]) -> dict[str, tuple[int, str]]:
    """psn_no (a ledger psn_no or ID number) -> (person id, person key)."""
    out: dict[str, tuple[int, str]] = {}
    for id_no, pk, psn in select_in(Person, "id_no", psn_nos, ("id", "psn_no")):
        out[id_no] = (pk, psn or id_no)
    for psn, pk in select_in(Person, "psn_no", psn_nos, ("id",)):
        out[psn] = (pk, psn)
    return out


def import_claims(
    path: str | Path, pack: Pack, institution: Institution | None = None
) -> ImportOutcome:
    """Import a claims file (see the module docstring). Raises TableError for an unusable file."""
    path = Path(path)
    roomy_cache()
    sha = _sha256(path)
    earlier = ClaimImport.objects.filter(sha256=sha).first()
    if earlier is not None:
        return ImportOutcome(earlier, True)
    raw = read_table(path)
    row0 = first_data_row(path)
    checked = validate_claims(raw, str(path), row0, strip=table_format(path) == ".csv")
    present = [c for c in PAID_COLUMNS if c in raw.columns]
    if present and len(present) < len(PAID_COLUMNS):
        missing = next(c for c in PAID_COLUMNS if c not in raw.columns)
        raise TableError(
            path,
            "missing column (a file with payments has all of " + ", ".join(PAID_COLUMNS) + ")",
            missing,
        )
    good, rejects = checked.good, checked.rejects
    if present:
        good, paid_rejects = _paid(raw, good, str(path), row0)
        rejects = pl.concat([rejects, paid_rejects]).sort("row")
    ids = good["setl_id"].to_list()
    known = {r[0] for r in select_in(Claim, "setl_id", ids, ())}
    new = good.filter(~pl.col("setl_id").is_in(list(known))) if known else good
    people = _people(sorted(set(new["psn_no"].to_list())))
    with transaction.atomic():
        ci = ClaimImport.objects.create(
            file_name=path.name,
            sha256=sha,
            institution=institution,
            with_payments=bool(present),
            rows_total=raw.height,
            rows_new=new.height,
            rows_known=good.height - new.height,
            rows_rejected=rejects.height,
        )
        copy_rows(
            ImportReject,
            ("claim_import", "row", "setl_id", "reason"),
            (
                (ci.pk, r["row"], (r["id"] or "")[:64], r["reason"][:500])
                for r in rejects.iter_rows(named=True)
            ),
        )
        table = _new_claims(new, ci, pack, institution, people)
        if present:
            _record_paid(pack, table, new)
    return ImportOutcome(ci, False)


_INSERTED = (
    "setl_id", "psn_no", "person_key", "person", "setl_date", "med_type", "hosp_lv",
    "in_province", "referral", *CLAIM_AMOUNTS, "inscp_scp_amt", "institution", "source",
    "claim_import", "pack_id", "received_at",
)  # fmt: skip


def _new_claims(
    new: pl.DataFrame,
    ci: ClaimImport,
    pack: Pack,
    institution: Institution | None,
    people: dict[str, tuple[int, str]],
) -> pl.DataFrame:
    """Insert the file's new claims; returns them with their ids (claims.bulk.CLAIM_COLUMNS)."""
    psn = new["psn_no"].to_list()
    found = [people.get(p) for p in psn]
    frame = new.select(
        "setl_id",
        "psn_no",
        pl.Series("person_key", [f[1] if f else p for f, p in zip(found, psn, strict=True)]),
        pl.Series("person", [f[0] if f else None for f in found], dtype=pl.Int64),
        "setl_date",
        pl.col("med_type").cast(pl.Int16),
        pl.col("hosp_lv").cast(pl.Int16),
        pl.col("in_province").cast(pl.Boolean),
        pl.col("referral").cast(pl.Boolean),
        *(pl.col(a).cast(pl.Int64) for a in (*CLAIM_AMOUNTS, "inscp_scp_amt")),
        pl.lit(institution.pk if institution else None, pl.Int64).alias("institution"),
        pl.lit(Claim.Source.IMPORT.value).alias("source"),
        pl.lit(ci.pk, pl.Int64).alias("claim_import"),
        pl.lit(pack.id).alias("pack_id"),
        pl.lit(stamp(timezone.now())).alias("received_at"),
    )
    ids = insert_claim_frame(frame)
    return frame.select(
        ids.alias("id"),
        "setl_id",
        "person_key",
        pl.col("person").alias("person_id"),
        "setl_date",
        "med_type",
        "hosp_lv",
        "in_province",
        "referral",
        *CLAIM_AMOUNTS,
        "inscp_scp_amt",
    )


def _record_paid(pack: Pack, table: pl.DataFrame, new: pl.DataFrame) -> None:
    """Settlements as paid elsewhere, added to the person-years' accumulators (locked)."""
    paid = table.select("id", "setl_id", "person_key", "setl_date").join(
        new.select("setl_id", *PAID_COLUMNS), on="setl_id", how="left", maintain_order="left"
    )
    contrib = pl.DataFrame(
        contributions(pack, table, paid), schema=list(k.ACC_NAMES), orient="row"
    ).with_columns(table["person_key"], table["setl_date"].dt.year().alias("year"))
    for year in sorted(contrib["year"].unique().to_list()):
        added = contrib.filter(pl.col("year") == year).drop("year").group_by("person_key").sum()
        locked = lock_years(added["person_key"].to_list(), year)
        totals = locked.join(added, on="person_key", how="inner", suffix="_add").select(
            "id", *(pl.col(n) + pl.col(f"{n}_add") for n in k.ACC_NAMES)
        )
        store_years(totals)
    sums.add_settled(table, paid)
    insert_frame(
        Settlement,
        paid.select(
            pl.col("id").alias("claim"),
            pl.lit(Settlement.Kind.SETTLE.value).alias("kind"),
            pl.lit(Settlement.Source.EXTERNAL.value).alias("source"),
            *(pl.col(f).cast(pl.Int64) for f in RESULT_FIELDS),
            pl.lit("").alias("group"),
            pl.lit(0, pl.Int64).alias("group_mask"),
            pl.lit("[]").alias("identities"),
            pl.lit(None, pl.String).alias("acc_before"),
            pl.lit(pack.id).alias("pack_id"),
            pl.lit("外部已结算,按导入金额记账").alias("reason"),
            pl.lit(stamp(timezone.now())).alias("created_at"),
        ),
    )


@dataclass
class MonthSummary:
    claims: int = 0
    person_years: int = 0
    fund: int = 0
    earlier_unsettled: int = 0  # claims of earlier months of the year still unsettled


def settle_month(pack: Pack, year: int, month: int) -> MonthSummary:
    """Settle the month's claims that have no settlement yet; see the module docstring.

    A month of a county goes through the engine at once, in one transaction (CHUNK person-years
    at most: beyond that, in parts of CHUNK). On PostgreSQL the person-years are locked first
    and the claims read under the locks (a concurrent run may have settled some meanwhile); on
    SQLite the transaction holds the database's write lock from its start, so nothing can
    change between reading the month's claims and settling them, and one read serves."""
    start = dt.date(year, month, 1)
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    summary = MonthSummary(
        earlier_unsettled=count_unsettled(dt.date(year, 1, 1), start - dt.timedelta(days=1))
        if month > 1
        else 0
    )
    roomy_cache()
    if connection.vendor != "postgresql":
        with transaction.atomic():
            table = read_unsettled(start, end)
            for part in _chunks(sorted(set(table["person_key"].to_list())), CHUNK):
                locked = lock_years(part, year, create=False)
                _settle_part(pack, year, table, locked, summary)
        return summary
    keys = unsettled_keys(start, end)
    whole = len(keys) <= CHUNK
    for part in _chunks(keys, CHUNK):
        with transaction.atomic():
            locked = lock_years(part, year)
            table = read_unsettled(start, end, None if whole else part)
            _settle_part(pack, year, table, locked, summary)
    return summary


def _settle_part(
    pack: Pack, year: int, table: pl.DataFrame, locked: pl.DataFrame, summary: MonthSummary
) -> None:
    """Settle the claims of the locked person-years; claims of anyone else (filed after the
    person-years were chosen) wait for the next run."""
    table = table.filter(pl.col("person_key").is_in(locked["person_key"].implode()))
    if table.height:
        _settle_chunk(pack, year, table, locked, summary)


def _settle_chunk(
    pack: Pack, year: int, table: pl.DataFrame, locked: pl.DataFrame, summary: MonthSummary
) -> None:
    """Settle the claims (`table`: CLAIM_COLUMNS) from the locked person-years' accumulators."""
    frame = engine_claims(table)
    people = person_identities(table)
    idents = identity_table(people)
    start = locked.filter(pl.any_horizontal(pl.col(n) != 0 for n in k.ACC_NAMES))
    values = start.select(k.ACC_NAMES).to_numpy().astype(np.int64)
    initial = {
        (key, year): Accumulators.from_array(values[i])
        for i, key in enumerate(start["person_key"].to_list())
    }
    result = settle_batch(pack, frame, idents, initial=initial)
    masks = group_masks(frame, idents)
    settled = result.claims
    before, final = _running(pack, table, settled, locked)
    _check_final(result.accumulators, final)
    now = stamp(timezone.now())
    insert_frame(
        Settlement,
        settled.select(
            table["id"].alias("claim"),
            pl.lit(Settlement.Kind.SETTLE.value).alias("kind"),
            pl.lit(Settlement.Source.BATCH.value).alias("source"),
            *RESULT_FIELDS,
            pl.col("group").cast(pl.String).fill_null("").alias("group"),
            pl.Series("group_mask", masks, dtype=pl.Int64),
            _identity_json(table, idents),
            pl.DataFrame(before, schema=list(k.ACC_NAMES), orient="row")
            .select(json_int_lists(k.ACC_NAMES).alias("acc_before"))
            .to_series(),
            pl.lit(pack.id).alias("pack_id"),
            pl.lit("").alias("reason"),
            pl.lit(now).alias("created_at"),
        ),
    )
    sums.add_settled(table, settled)
    # One statement for every person-year (store_acc would save each on its own).
    store_years(final.join(locked.select("person_key", "id"), on="person_key", how="left"), year)
    summary.fund += int(settled["fund_pay_sumamt"].sum())
    summary.claims += table.height
    summary.person_years += final.height


def _running(
    pack: Pack, table: pl.DataFrame, settled: pl.DataFrame, initial: pl.DataFrame
) -> tuple[np.ndarray, pl.DataFrame]:
    """Each claim's accumulators before it (for its bill) and each person-year's after its last
    claim (person_key, ACC_NAMES): the running sum of the claims' contributions in the engine's
    settlement order (setl_date, setl_id) from the stored accumulators (`initial`: person_key,
    ACC_NAMES; a person-year missing there starts from zero)."""
    contrib = contributions(pack, table, settled)
    order = (
        table.select("person_key", "setl_date", "setl_id")
        .with_row_index("i")
        .sort("person_key", "setl_date", "setl_id")
    )
    perm = order["i"].to_numpy().astype(np.int64)
    c = contrib[perm]
    excl = np.cumsum(c, axis=0) - c  # the sum of every earlier row, all keys together
    key = order["person_key"]
    first = (key != key.shift(1)).fill_null(True).to_numpy()
    seg = np.maximum.accumulate(np.where(first, np.arange(len(first)), 0))
    base = (
        order.select("person_key")
        .join(initial.select("person_key", *k.ACC_NAMES), on="person_key", how="left")
        .select(pl.col(n).fill_null(0) for n in k.ACC_NAMES)
        .to_numpy()
        .astype(np.int64)
        .reshape(len(first), k.N_ACC)
    )
    before_sorted = base + excl - excl[seg]
    before = np.empty_like(before_sorted)
    before[perm] = before_sorted
    last = np.flatnonzero(np.append(first[1:], True))
    after = before_sorted[last] + c[last]
    final = pl.DataFrame(after, schema=list(k.ACC_NAMES), orient="row").select(
        key.gather(last).alias("person_key"), pl.all()
    )
    return before, final


def _check_final(acc: pl.DataFrame, final: pl.DataFrame) -> None:
    """The engine's accumulators must equal the running sums' (one row a person-year)."""
    engine = acc.rename({"psn_no": "person_key"}).select("person_key", *k.ACC_NAMES)
    both = final.join(engine, on="person_key", how="full", suffix="_engine", coalesce=True)
    differ = both.filter(
        pl.any_horizontal(pl.col(n).ne_missing(pl.col(f"{n}_engine")) for n in k.ACC_NAMES)
    )
    if differ.height:
        key = differ["person_key"][0]
        raise AssertionError(f"accumulators of {key} disagree with the claims' sum")


def _identity_json(table: pl.DataFrame, idents: pl.DataFrame) -> pl.Series:
    """Per claim, the names of the identities active on its date (sorted, as JSON text): what
    the settlement's `identities` holds."""
    n = table.height
    active = (
        table.select(pl.int_range(n, dtype=pl.UInt32).alias("_i"), "person_key", "setl_date")
        .join(
            idents.select(
                pl.col("psn_no").alias("person_key"), "psn_idet_type", "begndate", "enddate"
            ),
            on="person_key",
            how="inner",
        )
        .filter(
            (pl.col("begndate") <= pl.col("setl_date"))
            & (pl.col("enddate").is_null() | (pl.col("setl_date") <= pl.col("enddate")))
        )
        .group_by("_i")
        .agg(pl.col("psn_idet_type").unique().sort().str.join("\x1f").alias("names"))
    )
    texts = {
        joined: json.dumps(joined.split("\x1f")) for joined in active["names"].unique().to_list()
    }
    out = np.full(n, "[]", dtype=object)
    if active.height:
        out[active["_i"].to_numpy()] = [texts[j] for j in active["names"].to_list()]
    return pl.Series("identities", out.tolist(), dtype=pl.String)


__all__ = ["ImportOutcome", "MonthSummary", "import_claims", "settle_month"]
