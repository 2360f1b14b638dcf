"""Households and people of a synthetic county, with the hidden facts the other steps need.

Besides the columns written to ``persons.csv`` the frame keeps, for the later steps:
age on 1 January, sex as a bool, the household's poverty score, health conditions
(chronic disease, a catastrophic illness, severe disability, severe mental illness),
military service, and a death date within the year. Rates are rough figures for a
poor rural county in north-west China; they shape the data, they are not statistics.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fangpin.synth.ids import HOME_PLACES, OTHER_PLACES, make_ids, unique_sequences
from fangpin.synth.names import person_names, surnames

# Household sizes 1..6 (rural Ningxia families are large; mean about 3.4).
_SIZE_P = np.array([0.12, 0.20, 0.20, 0.22, 0.16, 0.10])
BIRTH_RATE = 0.011  # births per person per year

# Catastrophic illnesses: 0 none, 1 cancer, 2 dialysis (kidney failure), 3 leukaemia.
CANCER, DIALYSIS, LEUKAEMIA = 1, 2, 3


def by_age(age: np.ndarray, bounds: list[int], values: list[float]) -> np.ndarray:
    """Piecewise-constant rate: values[i] for ages in [bounds[i-1], bounds[i])."""
    return np.asarray(values)[np.searchsorted(np.asarray(bounds), age, side="right")]


def ymd_parts(days: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Year, month and day arrays of a datetime64[D] array."""
    y = days.astype("datetime64[Y]")
    m = days.astype("datetime64[M]")
    year = y.astype(np.int64) + 1970
    month = (m - y.astype("datetime64[M]")).astype(np.int64) + 1
    day = (days - m.astype("datetime64[D]")).astype(np.int64) + 1
    return year, month, day


def _households(rng: np.random.Generator, n_people: int, villages: pl.DataFrame) -> dict:
    """Household sizes, places, head ages and poverty scores adding up to n_people."""
    est = int(n_people / 3.3 * 1.15) + 8
    sizes = rng.choice(np.arange(1, 7), size=est, p=_SIZE_P)
    while sizes.sum() < n_people:  # rare: draw more
        sizes = np.r_[sizes, rng.choice(np.arange(1, 7), size=est, p=_SIZE_P)]
    cum = np.cumsum(sizes)
    n_hh = int(np.searchsorted(cum, n_people) + 1)
    sizes = sizes[:n_hh]
    sizes[-1] -= int(cum[n_hh - 1] - n_people)  # trim the last household
    w = villages["weight"].to_numpy()
    village = rng.choice(len(w), size=n_hh, p=w / w.sum())
    # Single-person households are mostly old people living alone.
    old_single = (sizes == 1) & (rng.random(n_hh) < 0.5)
    head_age = np.where(
        old_single,
        rng.integers(60, 92, size=n_hh),
        np.clip(rng.normal(48, 13, size=n_hh), 22, 88).astype(np.int64),
    )
    poor_place = villages["poor"].to_numpy()[village]
    # Latent poverty score: lower is poorer. Mountain townships, old heads and
    # big families are poorer; the lowest ~27% of households were lifted out of poverty.
    z = (
        rng.normal(0, 1, size=n_hh)
        - 0.6 * poor_place
        - 0.3 * (head_age >= 60)
        - 0.2 * (sizes >= 5)
    )
    return {"size": sizes, "village": village, "head_age": head_age, "z": z}


def _members(rng: np.random.Generator, hh: dict) -> dict:
    """Relation, age and sex of every member, from position in the household."""
    size = hh["size"]
    n_hh = len(size)
    hh_of = np.repeat(np.arange(n_hh), size)
    starts = np.r_[0, np.cumsum(size)[:-1]]
    pos = np.arange(len(hh_of)) - starts[hh_of]
    sz = size[hh_of]
    head_age = hh["head_age"][hh_of]
    n = len(hh_of)
    has_spouse = (size >= 2) & (rng.random(n_hh) < 0.85)
    sp = has_spouse[hh_of]
    k = pos - sp  # rank among members other than head and spouse
    old = head_age >= 56
    rel = np.select(
        [
            pos == 0,
            (pos == 1) & sp,
            old & (sz >= 5) & (k == 1),
            old & (sz >= 5) & (k == 2),
            old & (sz >= 5) & (k >= 3),
            (head_age < 40) & (sz >= 5) & (pos == sz - 1),
        ],
        ["户主", "配偶", "子女", "儿媳", "孙子女", "父母"],
        default="子女",
    ).astype(object)
    u = rng.random(n)
    child_age = np.where(
        head_age - 20 >= 0, head_age - 20 - u * 18, u * (head_age - 19)
    )  # parents 20–38 years older
    age = np.select(
        [
            rel == "户主",
            rel == "配偶",
            (rel == "子女") & old & (sz >= 5),
            rel == "儿媳",
            rel == "孙子女",
            rel == "父母",
        ],
        [
            head_age,
            np.maximum(head_age + rng.normal(-2, 3, size=n), 18),
            head_age - 22 - u * 10,
            np.maximum(head_age - 24 - u * 10 + rng.normal(0, 2, size=n), 18),
            np.clip(head_age - 44 - u * 16, 0, 25),
            head_age + 22 + u * 10,
        ],
        default=np.maximum(child_age, 0),
    )
    age = np.clip(age, 0, 100).astype(np.int64)
    head_male = np.where(hh["head_age"] >= 60, rng.random(n_hh) < 0.7, rng.random(n_hh) < 0.88)
    male = np.select(
        [rel == "户主", rel == "配偶", rel == "儿媳", rel == "父母"],
        [head_male[hh_of], ~head_male[hh_of], False, rng.random(n) < 0.4],
        default=rng.random(n) < 0.51,
    )
    return {"hh": hh_of, "pos": pos, "relation": rel, "age": age, "male": male}


def _add_births(rng: np.random.Generator, hh: dict, m: dict, n_births: int, year: int) -> dict:
    """Babies born during the year, placed into households with parents of the right age."""
    if n_births == 0:
        m["born"] = np.zeros(len(m["hh"]), dtype=bool)
        return m
    size, head_age = hh["size"], hh["head_age"]
    young = (head_age >= 22) & (head_age <= 40) & (size >= 2) & (size <= 5)
    grand = (head_age >= 48) & (head_age <= 68) & (size >= 3) & (size <= 5)
    w = young * 3.0 + grand * 1.0 + 1e-9
    hh_b = np.sort(rng.choice(len(size), size=n_births, replace=False, p=w / w.sum()))
    rel_b = np.where(young[hh_b], "子女", "孙子女").astype(object)
    for key, extra in (
        ("hh", hh_b),
        ("pos", size[hh_b] + np.arange(n_births)),  # positions after existing members
        ("relation", rel_b),
        ("age", np.zeros(n_births, dtype=np.int64)),
        ("male", rng.random(n_births) < 0.52),
    ):
        m[key] = np.r_[m[key], extra]
    m["born"] = np.r_[np.zeros(len(m["hh"]) - n_births, dtype=bool), np.ones(n_births, bool)]
    jan1 = np.datetime64(f"{year}-01-01")
    m["birth_in_year"] = jan1 + rng.integers(0, 365, size=n_births)
    order = np.lexsort((m["pos"], m["hh"]))
    for key in ("hh", "pos", "relation", "age", "male", "born"):
        m[key] = m[key][order]
    # births were appended last, so their dates follow the same reordering
    dates = np.full(len(order), np.datetime64("NaT"), dtype="datetime64[D]")
    dates[len(order) - n_births :] = m["birth_in_year"]
    m["birth_in_year"] = dates[order]
    return m


def build_people(
    rng: np.random.Generator, people: int, year: int, county: str, villages: pl.DataFrame
) -> pl.DataFrame:
    """All persons of the county with public and hidden columns (see module docstring)."""
    n_births = int(round(people * BIRTH_RATE))
    hh = _households(rng, people - n_births, villages)
    m = _members(rng, hh)
    m = _add_births(rng, hh, m, n_births, year)
    n = len(m["hh"])
    jan1 = np.datetime64(f"{year}-01-01")
    age, male, hh_of, born = m["age"], m["male"], m["hh"], m["born"]
    # Birth date: the age is the one reached on 1 January.
    birth = jan1 - age * 365 - rng.integers(1, 366, size=n)
    if born.any():
        birth = np.where(born, m["birth_in_year"], birth)
    birth = birth.astype("datetime64[D]")
    by, bm, bd = ymd_parts(birth)
    # Division code of the birth place in the birth year; wives and daughters-in-law
    # more often come from outside the county.
    outsider = rng.random(n) < np.where(np.isin(m["relation"], ["配偶", "儿媳"]) & ~male, 0.12, 0.02)
    home = HOME_PLACES[county].code_for_years(by)
    other_idx = rng.integers(0, len(OTHER_PLACES), size=n)
    division = home.copy()
    for i, place in enumerate(OTHER_PLACES):
        sel = outsider & (other_idx == i)
        division[sel] = place.code_for_years(by[sel])
    ymd = by * 10000 + bm * 100 + bd
    ids = make_ids(division, ymd, unique_sequences(rng, division, ymd, male))

    # Names: children take the family (father's) surname.
    family = surnames(rng, len(hh["size"]))[hh_of]
    own = surnames(rng, n)
    rel = m["relation"]
    keeps_family = np.isin(rel, ["子女", "孙子女"]) | (np.isin(rel, ["户主", "配偶", "父母"]) & male)
    names = person_names(rng, np.where(keeps_family, family, own), male, by)

    # Health and service, used by identities and claims.
    poor = hh["z"][hh_of] < np.quantile(hh["z"], 0.3)
    chronic_p = by_age(age, [18, 45, 60, 75], [0.005, 0.02, 0.08, 0.20, 0.28]) * np.where(poor, 1.3, 1.0)
    chronic = rng.random(n) < chronic_p
    u = rng.random(n)
    p_cancer = by_age(age, [30, 50, 65], [0.0001, 0.0007, 0.0018, 0.0035])
    p_dialysis = by_age(age, [40], [0.0001, 0.0005])
    p_leuk = np.full(n, 0.00015)
    catastrophic = np.select(
        [u < p_cancer, u < p_cancer + p_dialysis, u < p_cancer + p_dialysis + p_leuk],
        [CANCER, DIALYSIS, LEUKAEMIA],
        default=0,
    ).astype(np.int8)
    disabled = rng.random(n) < by_age(age, [18, 60, 80], [0.004, 0.01, 0.025, 0.04])
    mental = (age >= 18) & (age <= 70) & (rng.random(n) < 0.0065)
    veteran = male & (age >= 45) & (rng.random(n) < 0.006)

    # Deaths during the year; a catastrophic illness raises the risk sharply.
    q = by_age(age, [40, 60, 70, 80, 90], [0.0005, 0.003, 0.012, 0.03, 0.08, 0.2])
    q = np.where(catastrophic > 0, np.maximum(q * 3, 0.12), q)
    dies = rng.random(n) < q
    from_day = np.where(born, (birth - jan1).astype(np.int64), 0)
    death = jan1 + from_day + (rng.random(n) * (365 - from_day)).astype(np.int64)

    v = villages
    vil = hh["village"][hh_of]
    # Household numbers: village code plus a running number within the village.
    hh_village = hh["village"]
    hh_rank = np.empty(len(hh_village), dtype=np.int64)
    order = np.argsort(hh_village, kind="stable")
    counts = np.bincount(hh_village, minlength=len(v))
    hh_rank[order] = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    vcode = v["village_code"].to_numpy()
    household_no = np.char.add(vcode[hh_village].astype(str), np.char.zfill((hh_rank + 1).astype(str), 4))

    return pl.DataFrame(
        {
            "psn_no": ids,
            "id_no": ids,
            "name": names,
            "sex": np.where(male, "男", "女"),
            "birth_date": birth,
            "township_code": v["township_code"].to_numpy()[vil],
            "village_code": vcode[vil],
            "household_no": household_no[hh_of],
            "relation": rel,
            # hidden columns
            "hh": hh_of,
            "pos": m["pos"],
            "male": male,
            "age": age,
            "born_in_year": born,
            "poverty_z": hh["z"][hh_of],
            "hh_size": np.bincount(hh_of)[hh_of],
            "chronic": chronic,
            "catastrophic": catastrophic,
            "disabled": disabled,
            "disability_grade": np.where(rng.random(n) < 0.45, 1, 2).astype(np.int8),
            "mental": mental,
            "veteran": veteran,
            "death_date": pl.Series(np.where(dies, death, np.datetime64("NaT"))).cast(pl.Date),
        }
    ).with_columns(pl.col("birth_date").cast(pl.Date))


PUBLIC_COLUMNS = [
    "psn_no", "id_no", "name", "sex", "birth_date",
    "township_code", "village_code", "household_no", "relation",
]  # fmt: skip

