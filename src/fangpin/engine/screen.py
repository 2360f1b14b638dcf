"""High-cost early warning (高额医疗费用预警, RULES §4): who crosses a level on a screening date.

`screen(pack, claims, identities, date)` takes settled claims (the frame `settle_batch` returns,
or the same columns loaded from the settlement ledger) and validated identities, and returns one
row per flagged person and rule: psn_no, rule (the rule's id), level (its name), amount (fen)
and the follow-up deadline. It is one group-by of column expressions over the claims (keyed on
a hash of the person number, with an exact fallback), so the file command and the
database-backed screening run call it unchanged.

On date S a rule sums its measure over each person's claims dated 1 January to S of S's year,
counting only its med types; the person belongs to the rule's population on S; a level applies
when the sum is strictly above its bound (the documents say 超过) and the highest one wins.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from fangpin.engine.workdays import deadline
from fangpin.policy.groups import groups_mask
from fangpin.policy.registry import Pack
from fangpin.policy.schema import Level, WarningRule, Warnings
from fangpin.units import RATIO_ONE

SCREEN_COLUMNS = ("psn_no", "rule", "level", "amount", "deadline")
SCREEN_SCHEMA = {
    "psn_no": pl.String,
    "rule": pl.String,
    "level": pl.String,
    "amount": pl.Int64,
    "deadline": pl.Date,
}

# The settled-claim columns screening reads; `kind` already maps 23/24/52 to inpatient.
NEEDED = (
    "psn_no",
    "setl_date",
    "kind",
    "psn_part_amt",
    "inscp_scp_amt",
    "hifp_pay",
    "hifmi_pay",
    "maf_pay",
    "oth_pay",
)
KIND_OF_MED_TYPE = {11: 0, 14: 1, 21: 2}
ALL_KINDS = frozenset(KIND_OF_MED_TYPE.values())
# Two independent hash seeds for grouping on person numbers (see _per_person_hashed).
_SEED_A, _SEED_B = 0x5C3E_E401, 0x5C3E_E402


class ScreenError(ValueError):
    """Screening cannot be done as asked (a missing reference income, a frame without a column)."""


def measure_expr(measure: str) -> pl.Expr:
    """One claim's contribution to a rule's sum, in fen (RULES §3, figures derived)."""
    if measure == "psn_part_amt":
        return pl.col("psn_part_amt")
    if measure == "inscp_selfpay":
        # policy-scope self-pay after all four tiers
        return (
            pl.col("inscp_scp_amt")
            - pl.col("hifp_pay")
            - pl.col("hifmi_pay")
            - pl.col("maf_pay")
            - pl.col("oth_pay")
        )
    raise ScreenError(f"unknown warning measure {measure!r}")


def level_bounds(pack_id: str, warnings: Warnings, rule: WarningRule, date: dt.date) -> list[int]:
    """Each level's lower bound in fen for a screening on `date` (a sum must be strictly above it).

    An income-multiple bound is a multiple of the reference income of the year before the
    screening date's year ("上年度…人均可支配收入").
    """
    bounds = []
    for lv in rule.levels:
        if lv.above is not None:
            bounds.append(lv.above)
            continue
        year = date.year - 1
        income = warnings.reference_income.get(year)
        if income is None:
            known = ", ".join(str(y) for y in sorted(warnings.reference_income)) or "none"
            raise ScreenError(
                f"pack {pack_id} has no reference income ({warnings.income_name}) for {year}, which rule "
                f"{rule.id} needs to screen on {date.isoformat()} (years in the pack: {known}); "
                f"add warnings.reference_income.by_year.{year} to the pack"
            )
        # An integer sum is strictly above income × multiple exactly when it is above the floor
        # of that product, so flooring to the fen keeps "超过" exact without fractions of a fen.
        bounds.append(income * lv.income_multiple // RATIO_ONE)
    return bounds


def _kinds(rule: WarningRule) -> frozenset[int]:
    return frozenset(KIND_OF_MED_TYPE[m] for m in rule.med_types)


def lowest_bounds(pack: Pack, date: dt.date) -> list[tuple[str, frozenset[int], int]]:
    """Per warning rule in force on `date`: (measure, kinds of claim it counts, its lowest
    bound in fen), income-multiple bounds worked out as `level_bounds` does.

    Whatever the population, a rule flags nobody whose sum of its measure over its kinds is at
    or below that bound: a reader of the ledger may leave out the people at or below every
    rule's bound, and `screen` flags the rest exactly as it would among everyone. Raises
    ScreenError as `screen` would (a missing reference income).
    """
    if isinstance(date, dt.datetime):
        date = date.date()
    warnings = pack.policy_at(date).warnings
    return [
        (rule.measure, _kinds(rule), min(level_bounds(pack.id, warnings, rule, date)))
        for rule in warnings.rules
        if rule.levels  # a rule without levels flags nobody
    ]


def _sum_name(measure: str, kinds: frozenset[int]) -> str:
    return f"_sum_{measure}_{''.join(str(k) for k in sorted(kinds))}"


def _aggs(rules: tuple[WarningRule, ...]) -> list[pl.Expr]:
    """Every distinct (measure, med types) sum the rules need, as group-by aggregations."""
    aggs: dict[str, pl.Expr] = {}
    for rule in rules:
        kinds = _kinds(rule)
        name = _sum_name(rule.measure, kinds)
        if name in aggs:
            continue
        value = measure_expr(rule.measure)
        if kinds != ALL_KINDS:
            value = pl.when(pl.col("kind").is_in(sorted(kinds))).then(value).otherwise(0)
        aggs[name] = value.sum().alias(name)
    return list(aggs.values())


def _active_on(date: dt.date) -> pl.Expr:
    return (pl.col("begndate") <= date) & (
        pl.col("enddate").is_null() | (pl.col("enddate") >= date)
    )


def _person_hash(seed: int) -> pl.Expr:
    return pl.col("psn_no").hash(seed=seed)


def _per_person_hashed(
    in_year: pl.LazyFrame, identities: pl.DataFrame | None, aggs: list[pl.Expr], date: dt.date
) -> pl.DataFrame | None:
    """Per person (key `_key`, a 64-bit hash of psn_no): `_row`, the sums, `_mask`; None on a clash.

    Grouping millions of claims on an integer is several times faster than on the 18-character
    text. A second, independent hash proves the first is one person per key: within a key, and
    between claims and identities joined on it, the second hash must agree, or None sends the
    caller to the exact grouping on the text.
    """
    sums = (
        in_year.with_columns(
            _person_hash(_SEED_A).alias("_key"), _person_hash(_SEED_B).alias("_h2")
        )
        .group_by("_key")
        .agg(
            *aggs,
            pl.col("_row").first(),
            pl.col("_h2").min().alias("_h2"),
            (pl.col("_h2").max() != pl.col("_h2").min()).alias("_clash"),
        )
        .collect()
    )
    if sums["_clash"].any():
        return None
    if identities is None:
        return sums.drop("_clash").with_columns(pl.lit(0, dtype=pl.Int64).alias("_mask"))
    masks = (
        identities.lazy()
        .filter(_active_on(date))
        .group_by(_person_hash(_SEED_A).alias("_key"))
        .agg(
            pl.col("group_bit").cast(pl.Int64).bitwise_or().alias("_mask"),
            _person_hash(_SEED_B).min().alias("_ih2"),
            (_person_hash(_SEED_B).max() != _person_hash(_SEED_B).min()).alias("_iclash"),
        )
        .collect()
    )
    joined = sums.join(masks, on="_key", how="left")
    if (
        joined["_iclash"].any()
        or (joined["_ih2"].is_not_null() & (joined["_ih2"] != joined["_h2"])).any()
    ):
        return None
    return joined.select(pl.exclude("_clash", "_iclash", "_ih2")).with_columns(
        pl.col("_mask").fill_null(0)
    )


def _per_person_exact(
    in_year: pl.LazyFrame, identities: pl.DataFrame | None, aggs: list[pl.Expr], date: dt.date
) -> pl.DataFrame:
    """Per person (key `_key` = psn_no itself): `_row`, the sums, `_mask`."""
    sums = in_year.group_by(pl.col("psn_no").alias("_key")).agg(*aggs, pl.col("_row").first())
    if identities is None:
        return sums.with_columns(pl.lit(0, dtype=pl.Int64).alias("_mask")).collect()
    masks = (
        identities.lazy()
        .filter(_active_on(date))
        .group_by(pl.col("psn_no").alias("_key"))
        .agg(pl.col("group_bit").cast(pl.Int64).bitwise_or().alias("_mask"))
    )
    return (
        sums.join(masks, on="_key", how="left").with_columns(pl.col("_mask").fill_null(0)).collect()
    )


def _in_population(rule: WarningRule) -> pl.Expr:
    mask = pl.col("_mask")
    if rule.population == "all":
        return pl.lit(True)
    if rule.population == "any_identity":
        return mask != 0
    wanted = groups_mask(rule.groups)
    if rule.population == "in":
        return (mask & wanted) != 0
    if rule.population == "not_in":
        return (mask & wanted) == 0
    raise ScreenError(f"rule {rule.id}: unknown population {rule.population!r}")


def _flag(
    people: pl.DataFrame, rule: WarningRule, bounds: list[int], date: dt.date
) -> pl.DataFrame:
    """The rule's flagged people (by `_row`) with their highest level and its deadline."""
    amount = pl.col(_sum_name(rule.measure, _kinds(rule)))
    # Bounds rise with the level (the pack loader checks), so the number of bounds the sum is
    # strictly above is the 1-based index of the highest level that applies.
    reached = pl.sum_horizontal(*((amount > b).cast(pl.Int8) for b in bounds)).alias("_reached")
    hit = people.lazy().select(
        "_row", amount.alias("amount"), reached, _in_population(rule).alias("_in")
    )
    hit = hit.filter(pl.col("_in") & (pl.col("_reached") > 0)).collect()
    levels: tuple[Level, ...] = rule.levels
    # Deadlines only for the levels someone reached: a date with nobody flagged still screens
    # even if the holiday calendar does not know the year of a later deadline.
    used = sorted(hit["_reached"].unique().to_list())
    names = {i: levels[i - 1].name for i in used}
    deadlines = {i: deadline(date, levels[i - 1]) for i in used}
    return hit.select(
        "_row",
        pl.lit(rule.id, dtype=pl.String).alias("rule"),
        pl.col("_reached")
        .replace_strict(names, default=None, return_dtype=pl.String)
        .alias("level"),
        pl.col("amount").cast(pl.Int64),
        pl.col("_reached")
        .replace_strict(deadlines, default=None, return_dtype=pl.Date)
        .alias("deadline"),
    )


def _check_columns(frame: pl.DataFrame, needed: tuple[str, ...], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ScreenError(f"{what} frame lacks column(s) {', '.join(missing)}")


def screen(
    pack: Pack, claims: pl.DataFrame, identities: pl.DataFrame, date: dt.date
) -> pl.DataFrame:
    """Screen settled claims on `date` with the warning rules of `pack` in force on that date.

    `claims`: settled claims with psn_no, setl_date (Date), kind (0=11, 1=14, 2=21) and the fen
    columns psn_part_amt, inscp_scp_amt, hifp_pay, hifmi_pay, maf_pay, oth_pay.
    `identities`: psn_no, group_bit, begndate, enddate (as `tabular.claims.read_identities`).
    Returns psn_no, rule, level, amount (fen), deadline: one row per flagged person and rule, in
    the pack's rule order and by psn_no within a rule.
    """
    if isinstance(date, dt.datetime):
        date = date.date()
    warnings = pack.policy_at(date).warnings
    rules = warnings.rules
    bounds = {rule.id: level_bounds(pack.id, warnings, rule, date) for rule in rules}
    uses_selfpay = any(rule.measure == "inscp_selfpay" for rule in rules)
    _check_columns(claims, NEEDED if uses_selfpay else NEEDED[:4], "claims")
    ids = None
    if any(rule.population != "all" for rule in rules):
        _check_columns(identities, ("psn_no", "group_bit", "begndate", "enddate"), "identities")
        ids = identities
    if not rules:
        return pl.DataFrame(schema=SCREEN_SCHEMA)
    # `_row` is where a person's first claim sits in `claims`, to find the person number again
    # for the few people flagged instead of carrying the text through the group-by.
    in_year = (
        claims.lazy()
        .with_row_index("_row")
        .filter(pl.col("setl_date").is_between(dt.date(date.year, 1, 1), date))
    )
    aggs = _aggs(rules)
    people = _per_person_hashed(in_year, ids, aggs, date)
    if people is None:
        people = _per_person_exact(in_year, ids, aggs, date)
    frames = []
    for rule in rules:
        hit = _flag(people, rule, bounds[rule.id], date)
        hit = hit.with_columns(claims["psn_no"].gather(hit["_row"]).alias("psn_no"))
        # Sorted rule by rule: one text column sorts much faster than (rule, psn_no) together.
        frames.append(hit.sort("psn_no").select(SCREEN_COLUMNS).cast(SCREEN_SCHEMA))
    return pl.concat(frames)


def counts(
    result: pl.DataFrame, pack: Pack, date: dt.date
) -> list[tuple[WarningRule, list[tuple[str, int]]]]:
    """Per rule of the pack on `date`, the number of people at each of its levels (zeros kept)."""
    got = {(r, lv): n for r, lv, n in result.group_by("rule", "level").len().iter_rows()}
    return [
        (rule, [(lv.name, got.get((rule.id, lv.name), 0)) for lv in rule.levels])
        for rule in pack.policy_at(date).warnings.rules
    ]


__all__ = [
    "SCREEN_COLUMNS",
    "SCREEN_SCHEMA",
    "ScreenError",
    "counts",
    "level_bounds",
    "lowest_bounds",
    "measure_expr",
    "screen",
]
