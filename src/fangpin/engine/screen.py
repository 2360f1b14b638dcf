"""High-cost early warning (高额医疗费用预警, RULES §4): who crosses a level on a screening date.

`screen(pack, claims, identities, date)` takes settled claims (the frame `settle_batch` returns,
or the same columns loaded from the settlement ledger) and validated identities, and returns one
row per flagged person and rule: psn_no, rule (the rule's id), level (its name), amount (fen)
and the follow-up deadline. It is one pass of column expressions over the claims, so the file
command and the database-backed screening run call it unchanged.

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
SCREEN_SCHEMA = {"psn_no": pl.String, "rule": pl.String, "level": pl.String, "amount": pl.Int64, "deadline": pl.Date}

# The settled-claim columns screening reads; `kind` already maps 23/24/52 to inpatient.
NEEDED = ("psn_no", "setl_date", "kind", "psn_part_amt", "inscp_scp_amt", "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay")
KIND_OF_MED_TYPE = {11: 0, 14: 1, 21: 2}
ALL_KINDS = frozenset(KIND_OF_MED_TYPE.values())


class ScreenError(ValueError):
    """Screening cannot be done as asked (a missing reference income, a frame without a column)."""


def measure_expr(measure: str) -> pl.Expr:
    """One claim's contribution to a rule's sum, in fen (RULES §3, figures derived)."""
    if measure == "psn_part_amt":
        return pl.col("psn_part_amt")
    if measure == "inscp_selfpay":
        # policy-scope self-pay after all four tiers
        return pl.col("inscp_scp_amt") - pl.col("hifp_pay") - pl.col("hifmi_pay") - pl.col("maf_pay") - pl.col("oth_pay")
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


def _sum_name(measure: str, kinds: frozenset[int]) -> str:
    return f"_sum_{measure}_{''.join(str(k) for k in sorted(kinds))}"


def _sums(claims: pl.DataFrame, rules: tuple[WarningRule, ...], date: dt.date) -> pl.LazyFrame:
    """Per person, every distinct (measure, med types) sum the rules need, in one group-by."""
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
    year_start = dt.date(date.year, 1, 1)
    return (
        claims.lazy()
        .filter(pl.col("setl_date").is_between(year_start, date, closed="both"))
        .group_by("psn_no")
        .agg(*aggs.values())
    )


def _masks_on(identities: pl.DataFrame, date: dt.date) -> pl.LazyFrame:
    """Per person, the bits of the groups with an identity active on `date`."""
    active = (pl.col("begndate") <= date) & (pl.col("enddate").is_null() | (pl.col("enddate") >= date))
    return (
        identities.lazy()
        .filter(active)
        .group_by("psn_no")
        .agg(pl.col("group_bit").cast(pl.Int64).bitwise_or().alias("_mask"))
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


def _flag(sums: pl.DataFrame, rule: WarningRule, bounds: list[int], date: dt.date) -> pl.DataFrame:
    """The rule's flagged people with their highest level and its deadline."""
    amount = pl.col(_sum_name(rule.measure, _kinds(rule)))
    # Bounds rise with the level (the pack loader checks), so the number of bounds the sum is
    # strictly above is the 1-based index of the highest level that applies.
    reached = pl.sum_horizontal(*((amount > b).cast(pl.Int8) for b in bounds)).alias("_reached")
    hit = sums.lazy().select("psn_no", amount.alias("amount"), reached, _in_population(rule).alias("_in"))
    hit = hit.filter(pl.col("_in") & (pl.col("_reached") > 0)).collect()
    if hit.height == 0:
        return pl.DataFrame(schema=SCREEN_SCHEMA)
    levels: tuple[Level, ...] = rule.levels
    # Deadlines only for the levels someone reached: a date with nobody flagged still screens
    # even if the holiday calendar does not know the year of a later deadline.
    used = sorted(hit["_reached"].unique().to_list())
    names = {i: levels[i - 1].name for i in used}
    deadlines = {i: deadline(date, levels[i - 1]) for i in used}
    return hit.select(
        "psn_no",
        pl.lit(rule.id, dtype=pl.String).alias("rule"),
        pl.col("_reached").replace_strict(names, return_dtype=pl.String).alias("level"),
        pl.col("amount").cast(pl.Int64),
        pl.col("_reached").replace_strict(deadlines, return_dtype=pl.Date).alias("deadline"),
    ).sort("psn_no")


def _check_columns(frame: pl.DataFrame, needed: tuple[str, ...], what: str) -> None:
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ScreenError(f"{what} frame lacks column(s) {', '.join(missing)}")


def screen(pack: Pack, claims: pl.DataFrame, identities: pl.DataFrame, date: dt.date) -> pl.DataFrame:
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
    measures = {rule.measure for rule in rules}
    needed = NEEDED if "inscp_selfpay" in measures else ("psn_no", "setl_date", "kind", "psn_part_amt")
    _check_columns(claims, needed, "claims")
    sums = _sums(claims, rules, date)
    if any(rule.population != "all" for rule in rules):
        _check_columns(identities, ("psn_no", "group_bit", "begndate", "enddate"), "identities")
        sums = sums.join(_masks_on(identities, date), on="psn_no", how="left")
        sums = sums.with_columns(pl.col("_mask").fill_null(0))
    else:
        sums = sums.with_columns(pl.lit(0, dtype=pl.Int64).alias("_mask"))
    collected = sums.collect()
    frames = [_flag(collected, rule, bounds[rule.id], date) for rule in rules]
    if not frames:
        return pl.DataFrame(schema=SCREEN_SCHEMA)
    return pl.concat(frames, how="vertical").select(SCREEN_COLUMNS).cast(SCREEN_SCHEMA)


def counts(result: pl.DataFrame, pack: Pack, date: dt.date) -> list[tuple[WarningRule, list[tuple[str, int]]]]:
    """Per rule of the pack on `date`, the number of people at each of its levels (zeros kept)."""
    got = {(r, lv): n for r, lv, n in result.group_by("rule", "level").len().iter_rows()}
    return [
        (rule, [(lv.name, got.get((rule.id, lv.name), 0)) for lv in rule.levels])
        for rule in pack.policy_at(date).warnings.rules
    ]


__all__ = ["SCREEN_COLUMNS", "SCREEN_SCHEMA", "ScreenError", "counts", "level_bounds", "measure_expr", "screen"]
