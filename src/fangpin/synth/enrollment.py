"""Enrollment records for the year, and the year's births.

Most people pay the resident contribution in the collection period of the previous
autumn. Special persons are nearly all enrolled (seed 000: 642 anomalies among 11.9万 —
paid in another province, in prison — plus a few deaths and gaps); the general population
has a few percent un-enrolled and more employees (职工) and people insured in another
province (异地). People newly identified during the year enrol within weeks of being
tagged ("即认定、即参保"); newborns are enrolled some days or weeks after birth, and
some not at all within the year.
"""

from __future__ import annotations

import numpy as np
import polars as pl

NAT = np.datetime64("NaT", "D")


def year_facts(p: pl.DataFrame, idt: pl.DataFrame, year: int) -> tuple[np.ndarray, np.ndarray]:
    """Per person: holds an identity during the year; first day of one if it began this year."""
    jan1 = np.datetime64(f"{year}-01-01", "D")
    n = p.height
    in_year = idt.filter(
        pl.col("enddate").is_null() | (pl.col("enddate") >= pl.lit(jan1).cast(pl.Date))
    )
    person = in_year["person"].to_numpy()
    begin = in_year["begndate"].to_numpy().astype("datetime64[D]")
    special = np.zeros(n, dtype=bool)
    special[person] = True
    # Earliest begin date among the person's identities that touch the year.
    first = np.full(n, np.datetime64("2999-12-31", "D"))
    np.minimum.at(first, person, begin)
    newly = special & (first >= jan1)
    return special, np.where(newly, first, NAT)


def build_enrollment(
    rng: np.random.Generator, p: pl.DataFrame, idt: pl.DataFrame, year: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Enrollment rows and claim coverage.

    Returns ``(enrollment, coverage)``. ``enrollment`` has the public columns plus
    ``person``; ``coverage`` has one row per person insured in the county's resident
    scheme with ``person, cover_from, cover_to`` (dates) — the window in which their
    claims are settled here.
    """
    n = p.height
    jan1 = np.datetime64(f"{year}-01-01", "D")
    dec31 = np.datetime64(f"{year}-12-31", "D")
    special, newly_from = year_facts(p, idt, year)
    age = p["age"].to_numpy()
    male = p["male"].to_numpy()
    born = p["born_in_year"].to_numpy()
    birth = p["birth_date"].to_numpy().astype("datetime64[D]")
    death = p["death_date"].to_numpy().astype("datetime64[D]")
    working = (age >= 18) & (age <= 60)

    u = rng.random(n)
    p_prison = np.where(male & working, np.where(special, 0.003, 0.002), 0.0)
    p_away = np.where(working, np.where(special, 0.005, 0.03), np.where(special, 0.001, 0.004))
    p_staff = np.where(
        (age >= 20) & (age <= 59), np.where(special, 0.004, 0.06), np.where(age >= 60, 0.01, 0.0)
    )
    p_staff = np.where(special & (age >= 60), 0.0, p_staff)
    p_none = np.where(special, 0.0025, 0.04)
    edges = np.cumsum(np.stack([p_prison, p_away, p_staff, p_none]), axis=0)
    kind = np.select(
        [u < edges[0], u < edges[1], u < edges[2], u < edges[3]], [1, 2, 3, 4], default=0
    )
    # 0 resident, 1 prison, 2 insured in another province, 3 employee, 4 not enrolled

    # Payment dates: the collection period (Sep–Dec of last year, a few in Jan–Feb).
    autumn = np.datetime64(f"{year - 1}-09-01", "D") + (rng.beta(2.5, 1.2, n) * 121).astype(
        np.int64
    )
    late = jan1 + rng.integers(0, 59, n)
    paid = np.where(rng.random(n) < 0.05, late, autumn)
    # People tagged during the year who had not enrolled do so within weeks of tagging.
    dynamic = ~np.isnat(newly_from) & (kind == 0) & (rng.random(n) < 0.45)
    paid = np.where(dynamic, np.minimum(newly_from + rng.integers(0, 26, n), dec31), paid)
    paid = np.where(kind == 3, jan1, paid)
    # Newborns: enrolled some days or weeks after birth; about one in ten not this year.
    lag = np.ceil(rng.lognormal(np.log(14), 0.9, n)).astype(np.int64)
    paid = np.where(born, birth + lag, paid)
    never = born & (rng.random(n) < 0.10)
    kind = np.where(born, np.where(never | (paid > dec31), 4, 0), kind)
    # Nobody pays after their death.
    dead = ~np.isnat(death)
    kind = np.where(dead & (kind == 0) & (paid > death), 4, kind)

    enrolled = kind != 4
    idx = np.flatnonzero(enrolled)
    k = kind[idx]
    insutype = np.select([k == 2, k == 3], ["异地", "职工"], default="居民")
    stop = np.select([k == 1, dead[idx] & ((k == 0) | (k == 3))], ["服刑", "死亡"], default="")
    paid_str = pl.Series(paid[idx]).cast(pl.Date).cast(pl.Utf8)
    enr = pl.DataFrame(
        {
            "person": idx,
            "psn_no": p["psn_no"].to_numpy()[idx],
            "name": p["name"].to_numpy()[idx],
            "year": np.full(len(idx), year),
            "insutype": insutype,
            "tier": np.where(insutype == "居民", "一档", ""),
            "paid_date": paid_str,
            "stop_reason": stop,
        }
    ).with_columns(
        # A prisoner's contribution was not collected this year.
        pl.when(pl.col("stop_reason") == "服刑")
        .then(pl.lit(""))
        .otherwise(pl.col("paid_date"))
        .alias("paid_date")
    )
    # A few residents paid twice (重复缴费): a second row with another date.
    dup = enr.filter((pl.col("insutype") == "居民") & (pl.col("stop_reason") == ""))
    dup = dup.filter(pl.Series(rng.random(dup.height) < 0.001))
    dup = dup.with_columns(
        pl.Series(
            "paid_date",
            (np.datetime64(f"{year}-01-02", "D") + rng.integers(0, 60, dup.height)).astype(str),
        )
    )
    enr = pl.concat([enr, dup]).sort(["person", "paid_date"])

    cidx = np.flatnonzero(kind == 0)  # residents, incl. the dead up to death
    cover_from = np.where(born[cidx], birth[cidx], np.where(dynamic[cidx], paid[cidx], jan1))
    cover_from = np.maximum(cover_from, jan1)
    cover_to = np.where(dead[cidx], death[cidx], dec31)
    coverage = pl.DataFrame(
        {
            "person": cidx,
            "cover_from": pl.Series(cover_from.astype("datetime64[D]")).cast(pl.Date),
            "cover_to": pl.Series(cover_to.astype("datetime64[D]")).cast(pl.Date),
        }
    )
    return enr, coverage


def build_births(p: pl.DataFrame) -> pl.DataFrame:
    """Babies born during the year, as the hospitals' birth records list them."""
    return p.filter(pl.col("born_in_year")).select(
        "psn_no", "name", pl.col("birth_date").cast(pl.Utf8), "township_code"
    )
