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
        np.clip(rng.normal(50, 14, size=n_hh), 22, 90).astype(np.int64),
    )
    poor_place = villages["poor"].to_numpy()[village]
    # Latent poverty score: lower is poorer. Mountain townships, old heads and
    # big families are poorer; the lowest ~27% of households were lifted out of poverty.
    z = rng.normal(0, 1, size=n_hh) - 0.6 * poor_place - 0.3 * (head_age >= 60) - 0.2 * (sizes >= 5)
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
    """Babies born during the year, placed into households with parents of the right age.

    Adds ``born`` (bool) and ``baby_birth`` (date, NaT for everyone else) to ``m``.
    """
    n_old = len(m["hh"])
    size, head_age = hh["size"], hh["head_age"]
    young = (head_age >= 22) & (head_age <= 40) & (size >= 2) & (size <= 5)
    grand = (head_age >= 48) & (head_age <= 68) & (size >= 3) & (size <= 5)
    w = young * 3.0 + grand * 1.0 + 1e-9
    hh_b = np.sort(rng.choice(len(size), size=n_births, replace=False, p=w / w.sum()))
    jan1 = np.datetime64(f"{year}-01-01", "D")
    extra = {
        "hh": hh_b,
        "pos": size[hh_b],  # after the existing members (one baby per household)
        "relation": np.where(young[hh_b], "子女", "孙子女").astype(object),
        "age": np.zeros(n_births, dtype=np.int64),
        "male": rng.random(n_births) < 0.52,
        "born": np.ones(n_births, dtype=bool),
        "baby_birth": jan1 + rng.integers(0, 365, size=n_births),
    }
    m["born"] = np.zeros(n_old, dtype=bool)
    m["baby_birth"] = np.full(n_old, np.datetime64("NaT", "D"))
    order = np.lexsort((np.r_[m["pos"], extra["pos"]], np.r_[m["hh"], extra["hh"]]))
    return {k: np.concatenate([m[k], extra[k]])[order] for k in extra}


def _id_numbers(rng: np.random.Generator, county: str, birth: np.ndarray, m: dict) -> np.ndarray:
    """ID numbers; wives and daughters-in-law were more often born outside the county."""
    n = len(birth)
    male, rel = m["male"], m["relation"]
    by, bm, bd = ymd_parts(birth)
    p_out = np.select(
        [m["born"], np.isin(rel, ["配偶", "儿媳"]) & ~male, np.isin(rel, ["子女", "孙子女"])],
        [0.0, 0.12, 0.005],
        default=0.03,
    )
    outsider = rng.random(n) < p_out
    division = HOME_PLACES[county].code_for_years(by)
    other_idx = rng.integers(0, len(OTHER_PLACES), size=n)
    for i, place in enumerate(OTHER_PLACES):
        sel = outsider & (other_idx == i)
        division[sel] = place.code_for_years(by[sel])
    ymd = by * 10000 + bm * 100 + bd
    return make_ids(division, ymd, unique_sequences(rng, division, ymd, male))


def _names(rng: np.random.Generator, m: dict, n_hh: int, birth_year: np.ndarray) -> np.ndarray:
    """Names; children take the family's (father's) surname, wives keep their own."""
    male, rel = m["male"], m["relation"]
    family = surnames(rng, n_hh)[m["hh"]]
    own = surnames(rng, len(male))
    keeps_family = np.isin(rel, ["子女", "孙子女"]) | (
        np.isin(rel, ["户主", "配偶", "父母"]) & male
    )
    return person_names(rng, np.where(keeps_family, family, own), male, birth_year)


def _health(rng: np.random.Generator, age: np.ndarray, male: np.ndarray, poor: np.ndarray) -> dict:
    """Conditions that drive identities (disability, mental illness, service) and claims."""
    n = len(age)
    chronic_p = by_age(age, [18, 45, 60, 75], [0.005, 0.02, 0.08, 0.20, 0.28])
    u = rng.random(n)
    p_cancer = by_age(age, [30, 50, 65], [0.0001, 0.0007, 0.0018, 0.0035])
    p_dialysis = by_age(age, [40], [0.0001, 0.0005])
    p_leuk = 0.00015
    return {
        "chronic": rng.random(n) < chronic_p * np.where(poor, 1.3, 1.0),
        "catastrophic": np.select(
            [u < p_cancer, u < p_cancer + p_dialysis, u < p_cancer + p_dialysis + p_leuk],
            [CANCER, DIALYSIS, LEUKAEMIA],
            default=0,
        ).astype(np.int8),
        "disabled": rng.random(n) < by_age(age, [18, 60, 80], [0.004, 0.01, 0.025, 0.04]),
        "disability_grade": np.where(rng.random(n) < 0.45, 1, 2).astype(np.int8),
        "mental": (age >= 18) & (age <= 70) & (rng.random(n) < 0.0065),
        "veteran": male & (age >= 45) & (rng.random(n) < 0.006),
    }


def _deaths(
    rng: np.random.Generator,
    age: np.ndarray,
    catastrophic: np.ndarray,
    birth: np.ndarray,
    year: int,
) -> np.ndarray:
    """Death dates within the year (NaT for survivors); catastrophic illness raises the risk."""
    jan1 = np.datetime64(f"{year}-01-01", "D")
    q = by_age(age, [40, 60, 70, 80, 90], [0.0005, 0.003, 0.012, 0.03, 0.08, 0.2])
    q = np.where(catastrophic > 0, np.maximum(q * 3, 0.12), q)
    dies = rng.random(len(age)) < q
    from_day = np.maximum((birth - jan1).astype(np.int64), 0)  # babies die after birth
    death = jan1 + from_day + (rng.random(len(age)) * (365 - from_day)).astype(np.int64)
    return np.where(dies, death, np.datetime64("NaT", "D"))


def _household_numbers(hh_village: np.ndarray, villages: pl.DataFrame) -> np.ndarray:
    """Household numbers: village code plus a 4-digit running number within the village."""
    order = np.argsort(hh_village, kind="stable")
    counts = np.bincount(hh_village, minlength=villages.height)
    rank = np.empty(len(hh_village), dtype=np.int64)
    rank[order] = np.arange(len(order)) - np.repeat(np.cumsum(counts) - counts, counts)
    vcode = villages["village_code"].to_numpy()[hh_village].astype(str)
    return np.char.add(vcode, np.char.zfill((rank + 1).astype(str), 4))


def build_people(
    rng: np.random.Generator, people: int, year: int, county: str, villages: pl.DataFrame
) -> pl.DataFrame:
    """All persons of the county with public and hidden columns (see module docstring)."""
    n_births = int(round(people * BIRTH_RATE))
    hh = _households(rng, people - n_births, villages)
    m = _add_births(rng, hh, _members(rng, hh), n_births, year)
    n, hh_of, age, male = len(m["hh"]), m["hh"], m["age"], m["male"]
    # Birth date such that the age is the one reached on 1 January.
    jan1 = np.datetime64(f"{year}-01-01", "D")
    birth = np.where(m["born"], m["baby_birth"], jan1 - age * 365 - rng.integers(1, 366, size=n))
    birth = birth.astype("datetime64[D]")
    ids = _id_numbers(rng, county, birth, m)
    names = _names(rng, m, len(hh["size"]), ymd_parts(birth)[0])
    poor = hh["z"][hh_of] < np.quantile(hh["z"], 0.3)
    health = _health(rng, age, male, poor)
    death = _deaths(rng, age, health["catastrophic"], birth, year)
    vil = hh["village"][hh_of]
    return pl.DataFrame(
        {
            "psn_no": ids,
            "id_no": ids,
            "name": names,
            "sex": np.where(male, "男", "女"),
            "birth_date": pl.Series(birth).cast(pl.Date),
            "township_code": villages["township_code"].to_numpy()[vil],
            "village_code": villages["village_code"].to_numpy()[vil],
            "household_no": _household_numbers(hh["village"], villages)[hh_of],
            "relation": m["relation"],
            # hidden columns, for the later steps
            "hh": hh_of,
            "pos": m["pos"],
            "male": male,
            "age": age,
            "born_in_year": m["born"],
            "poverty_z": hh["z"][hh_of],
            **health,
            "death_date": pl.Series(death).cast(pl.Date),
        }
    )


PUBLIC_COLUMNS = [
    "psn_no", "id_no", "name", "sex", "birth_date",
    "township_code", "village_code", "household_no", "relation",
]  # fmt: skip
