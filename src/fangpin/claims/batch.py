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

from fangpin.claims.ledger import amounts_of, claim_frame, contribution, identity_frame
from fangpin.claims.models import (
    CLAIM_AMOUNTS,
    RESULT_FIELDS,
    Accumulator,
    Claim,
    ClaimImport,
    ImportReject,
    Institution,
    Settlement,
)
from fangpin.claims.resettle import _lock
from fangpin.claims.services import acc_of, claim_dict, store_acc
from fangpin.engine import kernel as k
from fangpin.engine.settle import group_masks, settle_batch
from fangpin.people.models import Identity, Person
from fangpin.policy.groups import GROUP_BIT
from fangpin.policy.registry import Pack
from fangpin.tabular.claims import validate_claims
from fangpin.tabular.io import TableError, first_data_row, read_table, table_format
from fangpin.tabular.values import amount_fen, any_bad, join_reasons
from fangpin.warnings.bulk import update_columns

PAID_COLUMNS = (
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
    "hosp_part_amt",
    "fund_pay_sumamt",
    "psn_part_amt",
)
CHUNK = 2_000  # person-years per transaction
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
    for part in _chunks(psn_nos):
        for pk, psn, id_no in Person.objects.filter(id_no__in=part).values_list(
            "pk", "psn_no", "id_no"
        ):
            out[id_no] = (pk, psn or id_no)
        for pk, psn in Person.objects.filter(psn_no__in=part).values_list("pk", "psn_no"):
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
    known: set[str] = set()
    for part in _chunks(ids):
        known.update(Claim.objects.filter(setl_id__in=part).values_list("setl_id", flat=True))
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
        ImportReject.objects.bulk_create(
            ImportReject(
                claim_import=ci,
                row=r["row"],
                setl_id=(r["id"] or "")[:64],
                reason=r["reason"][:500],
            )
            for r in rejects.iter_rows(named=True)
        )
        claims = _new_claims(new, ci, pack, institution, people)
        if present:
            _record_paid(pack, claims, new)
    return ImportOutcome(ci, False)


def _new_claims(
    new: pl.DataFrame,
    ci: ClaimImport,
    pack: Pack,
    institution: Institution | None,
    people: dict[str, tuple[int, str]],
) -> list[Claim]:
    claims = []
    for r in new.iter_rows(named=True):
        pid, key = people.get(r["psn_no"], (None, r["psn_no"]))
        claims.append(
            Claim(
                setl_id=r["setl_id"],
                psn_no=r["psn_no"],
                person_key=key,
                person_id=pid,
                setl_date=r["setl_date"],
                med_type=r["med_type"],
                hosp_lv=r["hosp_lv"],
                in_province=bool(r["in_province"]),
                referral=bool(r["referral"]),
                **{a: r[a] for a in CLAIM_AMOUNTS},
                inscp_scp_amt=r["inscp_scp_amt"],
                institution=institution,
                source=Claim.Source.IMPORT,
                claim_import=ci,
                pack_id=pack.id,
            )
        )
    return Claim.objects.bulk_create(claims, batch_size=2_000)


def _record_paid(pack: Pack, claims: list[Claim], new: pl.DataFrame) -> None:
    """Settlements as paid elsewhere, added to the person-years' accumulators (locked)."""
    paid = {r["setl_id"]: r for r in new.select("setl_id", *PAID_COLUMNS).iter_rows(named=True)}
    by_year: dict[int, list[Claim]] = {}
    for c in claims:
        by_year.setdefault(c.setl_date.year, []).append(c)
    rows = []
    for year, cs in sorted(by_year.items()):
        acc_rows = _lock(sorted({c.person_key for c in cs}), year)
        totals = {
            key: np.array([getattr(r, n) for n in k.ACC_NAMES], dtype=np.int64)
            for key, r in acc_rows.items()
        }
        for c in cs:
            amounts = {f: int(paid[c.setl_id][f]) for f in RESULT_FIELDS}
            totals[c.person_key] += contribution(pack, claim_dict(c), amounts)
            rows.append(
                Settlement(
                    claim=c,
                    kind=Settlement.Kind.SETTLE,
                    source=Settlement.Source.EXTERNAL,
                    pack_id=pack.id,
                    reason="外部已结算,按导入金额记账",
                    **amounts,
                )
            )
        for key, r in acc_rows.items():
            store_acc(r, totals[key])
    Settlement.objects.bulk_create(rows, batch_size=2_000)


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
            acc_rows = _lock(part, year)
            # Read again under the locks: a concurrent run may have settled some meanwhile.
            claims = list(
                Claim.objects.filter(
                    person_key__in=part, setl_date__range=(start, end), settlements__isnull=True
                )
            )
            if claims:
                _settle_chunk(pack, year, claims, acc_rows, summary)
    return summary


def _settle_chunk(
    pack: Pack,
    year: int,
    claims: list[Claim],
    acc_rows: dict[str, Accumulator],
    summary: MonthSummary,
) -> None:
    frame = claim_frame(claim_dict(c) for c in claims)
    key_of = {c.person_id: c.person_key for c in claims if c.person_id is not None}
    ident_rows = [
        (key_of[pid], name, group, begin, end)
        for pid, name, group, begin, end in Identity.objects.filter(
            person_id__in=list(key_of)
        ).values_list("person_id", "name", "group", "begin", "end")
    ]
    idents = identity_frame(ident_rows)
    initial = {(key, year): acc_of(r) for key, r in acc_rows.items()}
    result = settle_batch(pack, frame, idents, initial=initial)
    masks = group_masks(frame, idents)
    names = _identity_names(ident_rows)
    settled = result.claims.to_dicts()
    # Each claim's accumulators before it, for its bill: the person-year's running sum in the
    # engine's settlement order (setl_date, setl_id).
    running = {
        key: r.copy() for key, r in ((key, initial[(key, year)].as_array()) for key in acc_rows)
    }
    rows = []
    for i in sorted(
        range(len(claims)),
        key=lambda j: (claims[j].person_key, claims[j].setl_date, claims[j].setl_id),
    ):
        c, r = claims[i], settled[i]
        amounts = amounts_of(r)
        before = running[c.person_key]
        running[c.person_key] = before + contribution(pack, claim_dict(c), amounts)
        rows.append(
            Settlement(
                claim=c,
                kind=Settlement.Kind.SETTLE,
                source=Settlement.Source.BATCH,
                group=r["group"] or "",
                group_mask=int(masks[i]),
                identities=names(c.person_key, c.setl_date),
                acc_before=[int(x) for x in before],
                pack_id=pack.id,
                **amounts,
            )
        )
        summary.fund += amounts["fund_pay_sumamt"]
    Settlement.objects.bulk_create(rows, batch_size=2_000)
    now = timezone.now()
    changed = []
    for row in result.accumulators.iter_rows(named=True):
        values = [int(row[n]) for n in k.ACC_NAMES]
        if list(running[row["psn_no"]]) != values:
            raise AssertionError(f"accumulators of {row['psn_no']} disagree with the claims' sum")
        changed.append((acc_rows[row["psn_no"]].pk, *values, now))
    # One statement for the chunk (store_acc would save each person-year on its own).
    update_columns(Accumulator, [*k.ACC_NAMES, "updated_at"], changed)
    summary.claims += len(claims)
    summary.person_years += len(result.accumulators)


def _identity_names(rows: list[tuple]):
    by_key: dict[str, list[tuple]] = {}
    for r in rows:
        by_key.setdefault(r[0], []).append(r)

    def names(key: str, date: dt.date) -> list[str]:
        return sorted(
            {
                n
                for _k, n, g, b, e in by_key.get(key, [])
                if g in GROUP_BIT and b <= date and (e is None or date <= e)
            }
        )

    return names


__all__ = ["ImportOutcome", "MonthSummary", "import_claims", "settle_month"]
