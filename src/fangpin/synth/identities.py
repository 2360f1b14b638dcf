"""Dated identities (人员身份) of the synthetic population.

Shares follow the picture of 同心县 in seed 000: about a third of the people hold at
least one identity, many hold several (含多重身份), 稳定脱贫人口 is by far the largest
group and 特困人员 a small one. Identities that departments grant to a family
(poverty, 低保, monitoring) are given to the whole household with one date; the others
(disability, mental illness, age, service) to a person.

Each identity kind has a history: most began years before ``year``, some begin during
the year (newly identified, e.g. tagged 低保对象 in March), some end during it
(退出, risk removed, death), and a few ended the year before.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

IDENTITIES: tuple[str, ...] = (
    "特困人员", "孤儿", "事实无人抚养儿童", "低保对象", "高龄低收入老年人",
    "低保边缘家庭成员", "返贫致贫人口", "脱贫不稳定户", "边缘易致贫户",
    "突发严重困难户", "稳定脱贫人口", "因病致贫重病患者", "1-2级残疾人",
    "严重精神障碍患者", "重点优抚对象", "计划生育特殊困难家庭成员",
)  # fmt: skip

# Which department pushes which identity (RULES.md §1).
DEPARTMENT_OF: dict[str, str] = {
    "特困人员": "民政", "孤儿": "民政", "事实无人抚养儿童": "民政", "低保对象": "民政",
    "高龄低收入老年人": "民政", "低保边缘家庭成员": "民政", "因病致贫重病患者": "民政",
    "返贫致贫人口": "乡村振兴", "脱贫不稳定户": "乡村振兴", "边缘易致贫户": "乡村振兴",
    "突发严重困难户": "乡村振兴", "稳定脱贫人口": "乡村振兴",
    "1-2级残疾人": "残联", "严重精神障碍患者": "卫健", "计划生育特殊困难家庭成员": "卫健",
    "重点优抚对象": "退役军人事务",
}  # fmt: skip
DEPARTMENTS: tuple[str, ...] = ("民政", "乡村振兴", "残联", "卫健", "退役军人事务")

NAT = np.datetime64("NaT", "D")


@dataclass(frozen=True)
class History:
    """How an identity kind's spells are dated relative to the year."""

    since: int  # earliest begin year of spells that began before the year
    p_new: float  # share of spells that begin during the year
    p_end: float  # share that end during the year
    p_gone: float = 0.0  # share that already ended during the previous year
    until: int | None = None  # latest begin year of earlier spells (default: the year before)


def _spans(
    rng: np.random.Generator, n: int, h: History, year: int
) -> tuple[np.ndarray, np.ndarray]:
    """Begin and end dates (datetime64[D], end NaT when open) of n spells."""
    jan1 = np.datetime64(f"{year}-01-01", "D")
    hist0 = np.datetime64(f"{h.since}-01-01", "D")
    hist1 = np.datetime64(f"{min(h.until + 1, year) if h.until else year}-01-01", "D")
    u = rng.random(n)
    new = u < h.p_new
    gone = (u >= h.p_new) & (u < h.p_new + h.p_gone)
    hist_days = max(int((hist1 - hist0).astype(np.int64)), 1)
    # Spells that ended last year must have begun before that.
    begin = hist0 + (rng.random(n) * np.where(gone, max(hist_days - 365, 1), hist_days)).astype(
        np.int64
    )
    begin = np.where(new, jan1 + rng.integers(0, 335, size=n), begin)
    end = np.full(n, NAT)
    ends = ~gone & ~new & (rng.random(n) < h.p_end) | new & (rng.random(n) < h.p_end / 3)
    start = np.maximum(begin + 30, jan1)
    left = (jan1 + 365 - start).astype(np.int64)
    end = np.where(
        ends & (left > 0), start + (rng.random(n) * np.maximum(left, 1)).astype(np.int64), end
    )
    gone_end = np.maximum(begin + 30, jan1 - 365) + rng.integers(0, 300, size=n)
    end = np.where(gone, np.minimum(gone_end, jan1 - 1), end)
    return begin.astype("datetime64[D]"), end.astype("datetime64[D]")


class _Builder:
    """Collects identity spells as (person index, identity, begin, end) arrays."""

    def __init__(self, p: pl.DataFrame, year: int, rng: np.random.Generator) -> None:
        self.rng, self.year = rng, year
        self.hh = p["hh"].to_numpy()
        self.n_hh = int(self.hh.max()) + 1 if len(self.hh) else 0
        first = np.r_[True, self.hh[1:] != self.hh[:-1]]
        self.hh_start = np.flatnonzero(first)  # persons are sorted by household
        self.hh_size = np.diff(np.r_[self.hh_start, len(self.hh)])
        self.parts: list[tuple[np.ndarray, str, np.ndarray, np.ndarray]] = []

    def households(self, mask: np.ndarray, identity: str, h: History) -> None:
        """Give ``identity`` to every member of the households where mask is true."""
        sel = np.flatnonzero(mask)
        begin, end = _spans(self.rng, len(sel), h, self.year)
        size = self.hh_size[sel]
        person = np.repeat(self.hh_start[sel], size) + (
            np.arange(size.sum()) - np.repeat(np.cumsum(size) - size, size)
        )
        self.parts.append((person, identity, np.repeat(begin, size), np.repeat(end, size)))

    def persons(self, mask: np.ndarray, identity: str, h: History) -> None:
        sel = np.flatnonzero(mask)
        begin, end = _spans(self.rng, len(sel), h, self.year)
        self.parts.append((sel, identity, begin, end))

    def spells(self, person: np.ndarray, identity: str, begin: np.ndarray, end: np.ndarray) -> None:
        self.parts.append((person, identity, begin, end))


def build_identities(rng: np.random.Generator, p: pl.DataFrame, year: int) -> pl.DataFrame:
    """Identity spells: ``person`` (row of p), ``psn_idet_type``, ``begndate``, ``enddate``."""
    b = _Builder(p, year, rng)
    hs = b.hh_start
    age = p["age"].to_numpy()
    rel = p["relation"].to_numpy()
    z = p["poverty_z"].to_numpy()[hs]
    size = b.hh_size
    head_age = age[hs]
    catastrophic = p["catastrophic"].to_numpy() > 0
    hh_cat = np.bincount(b.hh, weights=catastrophic, minlength=b.n_hh) > 0
    r = rng.random
    nh = b.n_hh

    tuopin = z < _q(z, 0.27)  # households lifted out of poverty (脱贫户)
    # Poverty exits were recorded 2016–2020; the tag has stayed since.
    b.households(tuopin, "稳定脱贫人口", History(2016, 0.0, 0.002, until=2020))
    unstable = tuopin & (r(nh) < 0.055)
    b.households(unstable, "脱贫不稳定户", History(2021, 0.2, 0.15, 0.1))
    edge = ~tuopin & (z < _q(z, 0.40)) & (r(nh) < 0.10)
    b.households(edge, "边缘易致贫户", History(2021, 0.2, 0.15, 0.1))
    sudden = r(nh) < np.where(hh_cat, 0.08, 0.0035)
    b.households(sudden, "突发严重困难户", History(2022, 0.4, 0.1))
    relapse = ((unstable | edge) & (r(nh) < 0.12)) | (tuopin & hh_cat & (r(nh) < 0.3))
    b.households(relapse, "返贫致贫人口", History(2021, 0.2, 0.05))
    dibao = r(nh) < np.where(tuopin, 0.16, np.where(z < _q(z, 0.5), 0.06, 0.01))
    b.households(dibao, "低保对象", History(2012, 0.08, 0.07, 0.05))
    dibao_edge = ~dibao & (z < _q(z, 0.45)) & (r(nh) < 0.05)
    b.households(dibao_edge, "低保边缘家庭成员", History(2021, 0.1, 0.08))
    # 计生特殊: couples past 49 living alone after losing or caring for an only child.
    b.households(
        (size <= 2) & (head_age >= 50) & (r(nh) < 0.02),
        "计划生育特殊困难家庭成员",
        History(2008, 0.03, 0.0),
    )

    # Person-level identities.
    n = len(age)
    hh_of = b.hh
    pz = z[hh_of]
    low_income = (pz < _q(z, 0.6)) & ~dibao[hh_of]
    single = size[hh_of] == 1
    tekun = single & (
        ((age >= 60) & (pz < _q(z, 0.5)) & (r(n) < 0.35))
        | (p["disabled"].to_numpy() & (age >= 18) & (r(n) < 0.3))
    )
    b.persons(tekun, "特困人员", History(2010, 0.05, 0.02))
    _old_age(b, p, low_income & ~tekun & (r(n) < 0.5))
    grandkid = (rel == "孙子女") & (age < 18)
    orphan = grandkid & (r(n) < 0.01)
    _children(b, p, orphan, "孤儿", 2010)
    _children(b, p, grandkid & ~orphan & (r(n) < 0.03), "事实无人抚养儿童", 2020)
    poor_person = dibao[hh_of] | tekun
    b.persons(
        catastrophic & ~poor_person & (r(n) < 0.35), "因病致贫重病患者", History(2022, 0.6, 0.05)
    )
    b.persons(p["disabled"].to_numpy() & (r(n) < 0.9), "1-2级残疾人", History(2008, 0.05, 0.0))
    b.persons(p["mental"].to_numpy() & (r(n) < 0.9), "严重精神障碍患者", History(2012, 0.06, 0.0))
    b.persons(p["veteran"].to_numpy(), "重点优抚对象", History(2005, 0.02, 0.0))
    return _finish(b, p, year)


def _q(z: np.ndarray, f: float) -> float:
    """Quantile of household poverty scores (lower is poorer)."""
    return float(np.quantile(z, f))


def _old_age(b: _Builder, p: pl.DataFrame, mask: np.ndarray) -> None:
    """高龄低收入老年人: from the 80th birthday (or the 2016 start of the subsidy) on."""
    birth = p["birth_date"].to_numpy().astype("datetime64[D]")
    year_end = np.datetime64(f"{b.year}-12-31", "D")
    eighty = (birth.astype("datetime64[Y]") + 80).astype("datetime64[D]") + (
        birth - birth.astype("datetime64[Y]").astype("datetime64[D]")
    )
    sel = np.flatnonzero(mask & (eighty <= year_end - 20))
    begin = np.maximum(eighty[sel], np.datetime64("2016-01-01", "D")) + b.rng.integers(
        5, 60, len(sel)
    )
    keep = begin <= year_end
    b.spells(sel[keep], "高龄低收入老年人", begin[keep], np.full(keep.sum(), NAT))


def _children(b: _Builder, p: pl.DataFrame, mask: np.ndarray, identity: str, since: int) -> None:
    """Child identities end on the 18th birthday."""
    birth = p["birth_date"].to_numpy().astype("datetime64[D]")
    sel = np.flatnonzero(mask)
    begin, end = _spans(b.rng, len(sel), History(since, 0.1, 0.0), b.year)
    b18 = (birth[sel].astype("datetime64[Y]") + 18).astype("datetime64[D]") + (
        birth[sel] - birth[sel].astype("datetime64[Y]").astype("datetime64[D]")
    )
    end = np.where(b18 <= np.datetime64(f"{b.year}-12-31", "D"), b18 - 1, end)
    b.spells(sel, identity, begin, end)


def _finish(b: _Builder, p: pl.DataFrame, year: int) -> pl.DataFrame:
    """Clip spells to each person's life (born later → tagged after birth; death ends all)."""
    if not b.parts:
        return pl.DataFrame(
            schema={
                "person": pl.Int64,
                "psn_idet_type": pl.Utf8,
                "begndate": pl.Date,
                "enddate": pl.Date,
            }
        )
    person = np.concatenate([x[0] for x in b.parts]).astype(np.int64)
    kind = np.concatenate([np.full(len(x[0]), x[1], dtype=object) for x in b.parts])
    begin = np.concatenate([x[2] for x in b.parts]).astype("datetime64[D]")
    end = np.concatenate([x[3] for x in b.parts]).astype("datetime64[D]")
    birth = p["birth_date"].to_numpy().astype("datetime64[D]")[person]
    death = p["death_date"].to_numpy().astype("datetime64[D]")[person]
    # Someone born after the family was tagged is registered some weeks after birth.
    delay = b.rng.integers(0, 46, size=len(person))
    begin = np.maximum(begin, birth + delay)
    dead = ~np.isnat(death)
    end = np.where(dead & (np.isnat(end) | (end > death)), death, end)
    keep = np.isnat(end) | (end >= begin)
    keep &= begin <= np.datetime64(f"{year}-12-31", "D")
    df = pl.DataFrame(
        {
            "person": person[keep],
            "psn_idet_type": kind[keep].astype(str),
            "begndate": pl.Series(begin[keep]).cast(pl.Date),
            "enddate": pl.Series(end[keep]).cast(pl.Date),
        }
    )
    order = {name: i for i, name in enumerate(IDENTITIES)}
    return (
        df.with_columns(
            pl.col("psn_idet_type").replace_strict(order, return_dtype=pl.Int32).alias("_k")
        )
        .sort(["person", "_k", "begndate"])
        .drop("_k")
    )
