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


# What happened to a person's enrollment for the year.
RESIDENT, PRISON, AWAY, STAFF, NONE = 0, 1, 2, 3, 4


def _kinds(
    rng: np.random.Generator, special: np.ndarray, age: np.ndarray, male: np.ndarray
) -> np.ndarray:
    """RESIDENT, PRISON (服刑), AWAY (insured in another province), STAFF (职工) or NONE."""
    working = (age >= 18) & (age <= 60)
    p_prison = np.where(male & working, np.where(special, 0.003, 0.002), 0.0)
    p_away = np.where(working, np.where(special, 0.005, 0.03), np.where(special, 0.001, 0.004))
    p_staff = np.select(
        [(age >= 20) & (age <= 59), (age >= 60) & ~special],
        [np.where(special, 0.004, 0.06), 0.01],
        default=0.0,
    )
    p_none = np.where(special, 0.0025, 0.04)
    edges = np.cumsum(np.stack([p_prison, p_away, p_staff, p_none]), axis=0)
    u = rng.random(len(age))
    return np.select([u < e for e in edges], [PRISON, AWAY, STAFF, NONE], default=RESIDENT)


def _paid_dates(
    rng: np.random.Generator, kind: np.ndarray, newly_from: np.ndarray, year: int
) -> tuple[np.ndarray, np.ndarray]:
    """Payment dates, and which residents enrolled only after being tagged this year."""
    n = len(kind)
    jan1 = np.datetime64(f"{year}-01-01", "D")
    dec31 = np.datetime64(f"{year}-12-31", "D")
    # The collection period: Sep–Dec of last year, busiest at the end; a few in Jan–Feb.
    autumn = np.datetime64(f"{year - 1}-09-01", "D") + (rng.beta(2.5, 1.2, n) * 121).astype(int)
    paid = np.where(rng.random(n) < 0.05, jan1 + rng.integers(0, 59, n), autumn)
    # Many tagged during the year had not enrolled and do so within weeks of tagging.
    dynamic = ~np.isnat(newly_from) & (kind == RESIDENT) & (rng.random(n) < 0.45)
    paid = np.where(dynamic, np.minimum(newly_from + rng.integers(0, 26, n), dec31), paid)
    return np.where(kind == STAFF, jan1, paid), dynamic


# enrollment.csv's columns, in order.
ENROLLMENT_COLUMNS = (
    "psn_no", "name", "year", "insutype", "tier", "paid_date", "stop_reason", "township", "village",
)  # fmt: skip


def build_enrollment(
    rng: np.random.Generator, p: pl.DataFrame, idt: pl.DataFrame, year: int
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Enrollment rows and claim coverage.

    Returns ``(enrollment, coverage)``. ``enrollment`` has the public columns but the place
    names, plus ``person`` and the ``village_code`` enrolled in; ``coverage`` has one row per person insured in the county's resident
    scheme with ``person, cover_from, cover_to`` (dates) — the window in which their
    claims are settled here.
    """
    n = p.height
    jan1 = np.datetime64(f"{year}-01-01", "D")
    dec31 = np.datetime64(f"{year}-12-31", "D")
    special, newly_from = year_facts(p, idt, year)
    born = p["born_in_year"].to_numpy()
    birth = p["birth_date"].to_numpy().astype("datetime64[D]")
    death = p["death_date"].to_numpy().astype("datetime64[D]")
    dead = ~np.isnat(death)
    kind = _kinds(rng, special, p["age"].to_numpy(), p["male"].to_numpy())
    paid, dynamic = _paid_dates(rng, kind, newly_from, year)
    # Newborns: enrolled days or weeks after birth; about one in ten not this year.
    paid = np.where(born, birth + np.ceil(rng.lognormal(np.log(14), 0.9, n)).astype(int), paid)
    never = born & ((rng.random(n) < 0.10) | (paid > dec31))
    kind = np.where(born, np.where(never, NONE, RESIDENT), kind)
    kind = np.where(dead & (kind == RESIDENT) & (paid > death), NONE, kind)  # too late

    idx = np.flatnonzero(kind != NONE)
    k = kind[idx]
    insutype = np.select([k == AWAY, k == STAFF], ["异地", "职工"], default="居民")
    stop = np.select(
        [k == PRISON, dead[idx] & ((k == RESIDENT) | (k == STAFF))], ["服刑", "死亡"], default=""
    )
    # A prisoner's contribution was not collected this year.
    paid_str = np.where(k == PRISON, "", paid[idx].astype("datetime64[D]").astype(str))
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
            "village_code": p["village_code"].to_numpy()[idx],
        }
    )
    # A few residents paid twice (重复缴费): a second row with another date.
    dup = enr.filter((pl.col("insutype") == "居民") & (pl.col("stop_reason") == ""))
    dup = dup.filter(pl.Series(rng.random(dup.height) < 0.001))
    again = np.datetime64(f"{year}-01-02", "D") + rng.integers(0, 60, dup.height)
    dup = dup.with_columns(pl.Series("paid_date", again.astype(str)))
    enr = pl.concat([enr, dup]).sort(["person", "paid_date"])

    cidx = np.flatnonzero(kind == RESIDENT)  # the dead included, up to their death
    cover_from = np.where(born[cidx], birth[cidx], np.where(dynamic[cidx], paid[cidx], jan1))
    cover_to = np.where(dead[cidx], death[cidx], dec31)
    coverage = pl.DataFrame(
        {
            "person": cidx,
            "cover_from": pl.Series(np.maximum(cover_from, jan1).astype("datetime64[D]")).cast(
                pl.Date
            ),
            "cover_to": pl.Series(cover_to.astype("datetime64[D]")).cast(pl.Date),
        }
    )
    return enr, coverage


def build_births(p: pl.DataFrame) -> pl.DataFrame:
    """Babies born during the year, as the hospitals' birth records list them."""
    return p.filter(pl.col("born_in_year")).select(
        "psn_no", "name", pl.col("birth_date").cast(pl.Utf8), "township_code"
    )
