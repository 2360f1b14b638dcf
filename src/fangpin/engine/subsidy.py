"""Categorized enrollment subsidy (分类资助参保, RULES §2) over an identities frame.

Input: identities as `fangpin.tabular.claims.validate_identities` leaves them (psn_no,
psn_idet_type, group_bit, begndate, enddate) and optionally each person's contribution tier.
Output: one row per person — `psn_no, group, subsidy, personal_pay` (fen), plus `tier`,
`contribution` and `group_date` (the date the group was taken on).

The group is the first group of the pack's subsidy list that any identity active on the
reference date (default 1 January of Y) belongs to. A person with none then takes, instead, the
first such group on the first day of Y on which one of their identities (of a listed group) is
active — "即认定、即参保、即享受" (seed 000): someone recognised in June is subsidised from June.
Groups the subsidy list does not name do not count, nor does 稳定脱贫: a person whose only group
is 稳定脱贫 gets nothing (seed 004) whatever a pack says, and is shown with that group. The subsidy is the group's rule for the person's tier —
full C, a fixed amount, or a percentage of C rounded half-up to the fen — never more than C.
"""

from __future__ import annotations

import datetime as dt

import polars as pl

from fangpin.policy.groups import GROUP_BIT
from fangpin.policy.schema import Enrollment, Policy
from fangpin.units import mul_ratio

NO_SUBSIDY_GROUPS = frozenset({"稳定脱贫"})  # seed 004: stable ex-poor people pay themselves
OUTPUT = ("psn_no", "group", "subsidy", "personal_pay")


class SubsidyError(ValueError):
    """A tier the pack does not define; names the people concerned."""


def subsidy_table(enrollment: Enrollment) -> pl.DataFrame:
    """Per (group, tier): rank in the subsidy list and the subsidy in fen, capped at C."""
    rows = []
    for rank, group in enumerate(enrollment.subsidy_order):
        rule = enrollment.subsidies.get(group)
        for tier, c in enrollment.contribution.items():
            if rule is None or group in NO_SUBSIDY_GROUPS:
                amount = 0
            elif rule.kind == "full":
                amount = c
            elif rule.kind == "fixed":
                amount = rule.amount.get(tier, 0)
            else:
                amount = mul_ratio(c, rule.ratio)
            rows.append((group, rank, tier, min(amount, c)))
    return pl.DataFrame(
        rows,
        schema={"group": pl.String, "rank": pl.Int32, "tier": pl.String, "subsidy": pl.Int64},
        orient="row",
    )


def subsidies(
    policy: Policy,
    identities: pl.DataFrame,
    year: int,
    *,
    tiers: pl.DataFrame | None = None,
    reference_date: dt.date | None = None,
    people: pl.Series | None = None,
) -> pl.DataFrame:
    """Subsidy per person of `identities` for year `year` (see the module's docstring).

    `tiers`: optional frame psn_no, tier (a person missing from it, or with an empty tier, is in
    the pack's first tier). `people`: the persons to answer for (default: those of `identities`;
    a person with no identity gets no group and no subsidy).
    """
    en = policy.enrollment
    first_tier = next(iter(en.contribution))
    jan1, dec31 = dt.date(year, 1, 1), dt.date(year, 12, 31)
    ref = reference_date or jan1
    if people is None:
        people = identities["psn_no"]
    people = pl.DataFrame({"psn_no": people.cast(pl.String)}).unique(maintain_order=True)
    # 稳定脱贫 is no subsidy group at all, so a stable household that falls back into poverty
    # in June is subsidised from June like anyone newly recognised.
    ranks = {GROUP_BIT[g]: i for i, g in enumerate(en.subsidy_order) if g not in NO_SUBSIDY_GROUPS}
    spells = identities.select(
        "psn_no",
        pl.col("group_bit")
        .replace_strict(ranks, default=None, return_dtype=pl.Int32)
        .alias("rank"),
        "begndate",
        pl.col("enddate"),
    ).drop_nulls("rank")
    active_on_ref = (pl.col("begndate") <= ref) & (
        pl.col("enddate").is_null() | (pl.col("enddate") >= ref)
    )
    on_ref = (
        spells.filter(active_on_ref)
        .group_by("psn_no")
        .agg(pl.col("rank").min(), pl.lit(ref).alias("group_date"))
    )
    # Spells touching year Y, clipped to it; the earliest clipped start is the first active day.
    in_year = spells.filter(
        (pl.col("begndate") <= dec31) & (pl.col("enddate").is_null() | (pl.col("enddate") >= jan1))
    ).with_columns(pl.max_horizontal(pl.col("begndate"), pl.lit(jan1)).alias("start"))
    later = (
        in_year.join(on_ref.select("psn_no"), on="psn_no", how="anti")
        .filter(pl.col("start") == pl.col("start").min().over("psn_no"))
        .group_by("psn_no")
        .agg(pl.col("rank").min(), pl.col("start").first().alias("group_date"))
    )
    chosen = pl.concat([on_ref, later])
    out = people.join(chosen, on="psn_no", how="left")
    out = _with_tier(out, tiers, first_tier)
    unknown = out.filter(~pl.col("tier").is_in(list(en.contribution)))
    if unknown.height:
        sample = ", ".join(
            f"{p} ({t})" for p, t in unknown.select("psn_no", "tier").head(5).iter_rows()
        )
        raise SubsidyError(
            f"{unknown.height} people have a contribution tier the pack does not define "
            f"(tiers: {', '.join(en.contribution)}): {sample}"
        )
    table = subsidy_table(en)
    contribution = pl.DataFrame(
        {"tier": list(en.contribution), "contribution": list(en.contribution.values())},
        schema={"tier": pl.String, "contribution": pl.Int64},
    )
    out = (
        out.join(table, on=["rank", "tier"], how="left")
        .join(contribution, on="tier", how="left")
        .with_columns(pl.col("subsidy").fill_null(0))
    )
    # Name 稳定脱贫 for people who hold nothing else, so a list shows why they get nothing.
    stable = identities.filter(
        pl.col("group_bit").is_in([GROUP_BIT[g] for g in NO_SUBSIDY_GROUPS]),
        pl.col("begndate") <= dec31,
        pl.col("enddate").is_null() | (pl.col("enddate") >= jan1),
    )["psn_no"]
    only_stable = pl.col("group").is_null() & pl.col("psn_no").is_in(stable.implode())
    return out.select(
        "psn_no",
        pl.when(only_stable).then(pl.lit("稳定脱贫")).otherwise(pl.col("group")).alias("group"),
        "subsidy",
        (pl.col("contribution") - pl.col("subsidy")).alias("personal_pay"),
        "tier",
        "contribution",
        "group_date",
    )


def _with_tier(out: pl.DataFrame, tiers: pl.DataFrame | None, first_tier: str) -> pl.DataFrame:
    if tiers is None or tiers.height == 0:
        return out.with_columns(pl.lit(first_tier).alias("tier"))
    given = tiers.select(
        pl.col("psn_no").cast(pl.String), pl.col("tier").cast(pl.String).str.strip_chars()
    ).unique("psn_no", keep="first", maintain_order=True)
    tier = pl.col("tier")
    return out.join(given, on="psn_no", how="left").with_columns(
        pl.when(tier.is_null() | (tier == ""))
        .then(pl.lit(first_tier))
        .otherwise(tier)
        .alias("tier")
    )
