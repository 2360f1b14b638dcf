"""The year sums recomputed from scratch, to hold the kept table (claims.YearSum) against.

The recomputation reads the ledger the plain way, independently of `claims.sums`: a claim
counts when it has a settle row no cancel row points at, with that row's amounts plus the
adjustments made against it, and the claim's own policy scope.
"""

from __future__ import annotations

import polars as pl

TIERS = ("psn_part_amt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
AMOUNTS = ("psn_part_amt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
COLUMNS = tuple(c for k in (0, 1, 2) for c in (f"n{k}", *(f"{m}_{k}" for m in AMOUNTS)))


def recomputed() -> dict[tuple[str, int], dict[str, int]]:
    """(person key, year) -> every count and sum column, from settlements and adjustments."""
    from fangpin.claims.models import Adjustment, Settlement

    valid = list(
        Settlement.objects.filter(kind="settle", cancelled_by__isnull=True).values_list(
            "id", "claim__person_key", "claim__setl_date", "claim__med_type",
            "claim__inscp_scp_amt", *TIERS,
        )
    )  # fmt: skip
    adjusted: dict[int, list[int]] = {}
    for sid, *values in Adjustment.objects.values_list("settlement_id", *TIERS):
        got = adjusted.setdefault(sid, [0] * len(TIERS))
        adjusted[sid] = [a + b for a, b in zip(got, values, strict=True)]
    rows = []
    for sid, key, date, med_type, scope, *tiers in valid:
        extra = adjusted.get(sid, [0] * len(TIERS))
        current = dict(zip(TIERS, (a + b for a, b in zip(tiers, extra, strict=True)), strict=True))
        kind = 0 if med_type == 11 else 1 if med_type == 14 else 2
        rows.append(
            {"key": key, "year": date.year, "kind": kind, "inscp_scp_amt": scope, **current}
        )
    if not rows:
        return {}
    frame = pl.DataFrame(rows)
    sums = frame.group_by("key", "year", "kind").agg(
        pl.len().alias("n"), *(pl.col(m).sum() for m in AMOUNTS)
    )
    out: dict[tuple[str, int], dict[str, int]] = {}
    for row in sums.iter_rows(named=True):
        cols = out.setdefault((row["key"], row["year"]), dict.fromkeys(COLUMNS, 0))
        k = row["kind"]
        cols[f"n{k}"] = row["n"]
        cols.update({f"{m}_{k}": row[m] for m in AMOUNTS})
    return out


def stored() -> dict[tuple[str, int], dict[str, int]]:
    """The kept table, without person-years whose every column is 0 (all claims cancelled)."""
    from fangpin.claims.models import YearSum

    out = {}
    for row in YearSum.objects.values("person_key", "year", *COLUMNS):
        cols = {c: row[c] for c in COLUMNS}
        if any(cols.values()):
            out[(row["person_key"], row["year"])] = cols
    return out


def assert_kept_exact() -> dict[tuple[str, int], dict[str, int]]:
    """The kept table equals the recomputation; returns it (to check that it holds something)."""
    expected = recomputed()
    got = stored()
    assert got.keys() == expected.keys()
    for key, cols in expected.items():
        assert got[key] == cols, key
    return got
