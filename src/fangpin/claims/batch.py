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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from django.db import transaction
from django.utils import timezone

from fangpin.claims import sums
from fangpin.claims.bulk import (
    insert_claims,
    insert_settlements,
    json_text,
    lock_person_years,
    read_claims,
    store_person_years,
)
from fangpin.claims.ledger import contributions, engine_claims, identity_frame
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
from fangpin.people.models import Identity, Person
from fangpin.policy.groups import GROUP_BIT
from fangpin.policy.registry import Pack
from fangpin.tabular.claims import validate_claims
from fangpin.tabular.io import TableError, first_data_row, read_table, table_format
from fangpin.tabular.values import amount_fen, any_bad, join_reasons
from fangpin.warnings.bulk import copy_rows

# A file of claims settled elsewhere carries every result field of the ledger.
PAID_COLUMNS = RESULT_FIELDS
CHUNK = 5_000  # person-years per transaction
IN_CHUNK = 5_000  # values per IN (...) query


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


def _chunks(values: list, size: int = IN_CHUNK):
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
        pl.lit(timezone.now()).alias("received_at"),
    )
    if frame.height == 0:
        return frame.select(pl.lit(0, pl.Int64).alias("id"), "*").rename({"person": "person_id"})
    id_of = insert_claims(frame, _INSERTED)
    return frame.select(
        pl.Series("id", [id_of[s] for s in frame["setl_id"].to_list()], dtype=pl.Int64),
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
    contrib = contributions(pack, table, paid)
    years = table["setl_date"].dt.year().to_numpy()
    keys = np.asarray(table["person_key"].to_list(), dtype=object)
    for year in sorted(set(years.tolist())):
        sel = np.flatnonzero(years == year)
        locked = lock_person_years(keys[sel].tolist(), year)
        totals = {key: values.copy() for key, (_pk, values) in locked.items()}
        for i in sel:
            totals[keys[i]] += contrib[i]
        store_person_years([(locked[key][0], totals[key]) for key in sorted(totals)])
    sums.add_settled(table, paid)
    now = timezone.now()
    reason = "外部已结算,按导入金额记账"
    insert_settlements(
        (
            cid, Settlement.Kind.SETTLE.value, Settlement.Source.EXTERNAL.value,
            *(int(a) for a in amounts), "", 0, "[]", None, pack.id, reason, now,
        )
        for cid, *amounts in paid.select("id", *RESULT_FIELDS).iter_rows()
    )  # fmt: skip


@dataclass
class MonthSummary:
    claims: int = 0
    person_years: int = 0
    fund: int = 0
    earlier_unsettled: int = 0  # claims of earlier months of the year still unsettled


def settle_month(pack: Pack, year: int, month: int) -> MonthSummary:
    """Settle the month's claims that have no settlement yet; see the module docstring."""
    start = dt.date(year, month, 1)
    end = dt.date(year, month, calendar.monthrange(year, month)[1])
    unsettled = Claim.objects.filter(settlements__isnull=True)
    summary = MonthSummary(
        earlier_unsettled=unsettled.filter(
            setl_date__gte=dt.date(year, 1, 1), setl_date__lt=start
        ).count()
    )
    keys = sorted(
        set(unsettled.filter(setl_date__range=(start, end)).values_list("person_key", flat=True))
    )
    for part in _chunks(keys, CHUNK):
        with transaction.atomic():
            locked = lock_person_years(part, year)
            # Read again under the locks: a concurrent run may have settled some meanwhile.
            table = read_claims(
                Claim.objects.filter(
                    person_key__in=part, setl_date__range=(start, end), settlements__isnull=True
                ).order_by("id")
            )
            if table.height:
                _settle_chunk(pack, year, table, locked, summary)
    return summary


def _settle_chunk(
    pack: Pack,
    year: int,
    table: pl.DataFrame,
    locked: dict[str, tuple[int, np.ndarray]],
    summary: MonthSummary,
) -> None:
    frame = engine_claims(table)
    key_of = dict(table.select("person_id", "person_key").drop_nulls("person_id").iter_rows())
    ident_rows = [
        (key_of[pid], name, group, begin, end)
        for pid, name, group, begin, end in Identity.objects.filter(
            person_id__in=list(key_of)
        ).values_list("person_id", "name", "group", "begin", "end")
    ]
    idents = identity_frame(ident_rows)
    initial = {(key, year): Accumulators.from_array(v) for key, (_pk, v) in locked.items()}
    result = settle_batch(pack, frame, idents, initial=initial)
    masks = group_masks(frame, idents)
    settled = result.claims
    before, final = _running(pack, table, settled, {key: v for key, (_pk, v) in locked.items()})
    acc = result.accumulators
    for key, *values in acc.select("psn_no", *k.ACC_NAMES).iter_rows():
        if not np.array_equal(final[key], values):
            raise AssertionError(f"accumulators of {key} disagree with the claims' sum")
    names = _identity_names(ident_rows)
    keys, dates = table["person_key"].to_list(), table["setl_date"].to_list()
    now = timezone.now()
    insert_settlements(
        (
            cid, Settlement.Kind.SETTLE.value, Settlement.Source.BATCH.value, *amounts,
            group or "", int(masks[i]), json_text(names(keys[i], dates[i])),
            json_text(before[i].tolist()), pack.id, "", now,
        )
        for i, (cid, group, *amounts) in enumerate(
            settled.select(
                table["id"], pl.col("group").cast(pl.String), *RESULT_FIELDS
            ).iter_rows()
        )
    )  # fmt: skip
    sums.add_settled(table, settled)
    # One statement for the chunk (store_acc would save each person-year on its own).
    store_person_years([(locked[key][0], final[key]) for key in acc["psn_no"].to_list()])
    summary.fund += int(settled["fund_pay_sumamt"].sum())
    summary.claims += table.height
    summary.person_years += acc.height


def _running(
    pack: Pack, table: pl.DataFrame, settled: pl.DataFrame, initial: dict[str, np.ndarray]
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Each claim's accumulators before it (for its bill) and each person-year's after its last
    claim: the running sum of the claims' contributions in the engine's settlement order
    (setl_date, setl_id) from the stored accumulators."""
    contrib = contributions(pack, table, settled)
    order = (
        table.select("person_key", "setl_date", "setl_id")
        .with_row_index("i")
        .sort("person_key", "setl_date", "setl_id")
    )
    perm = order["i"].to_numpy().astype(np.int64)
    keys = order["person_key"].to_list()
    c = contrib[perm]
    excl = np.cumsum(c, axis=0) - c  # the sum of every earlier row, all keys together
    first = np.ones(len(keys), dtype=bool)
    first[1:] = [a != b for a, b in zip(keys[1:], keys[:-1], strict=True)]
    seg = np.maximum.accumulate(np.where(first, np.arange(len(keys)), 0))
    base = np.stack([initial.get(key, np.zeros(k.N_ACC, np.int64)) for key in keys]) if keys else c
    before_sorted = base + excl - excl[seg]
    before = np.empty_like(before_sorted)
    before[perm] = before_sorted
    last = np.flatnonzero(np.append(first[1:], True))
    final = {keys[i]: before_sorted[i] + c[i] for i in last}
    return before, final


def _identity_names(rows: list[tuple]):
    by_key: dict[str, list[tuple]] = {}
    for r in rows:
        by_key.setdefault(r[0], []).append(r)

    def names(key: str, date: dt.date) -> list[str]:
        return sorted(
            {
                n
                for _k, n, g, b, e in by_key.get(key, ())
                if g in GROUP_BIT and b <= date and (e is None or date <= e)
            }
        )

    return names


__all__ = ["ImportOutcome", "MonthSummary", "import_claims", "settle_month"]
