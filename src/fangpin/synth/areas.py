"""The area tree of a synthetic county: county → townships → villages (and communities).

Township names are the county's real ones (public facts); township and village codes
and village names are synthetic and flagged so (``synthetic`` = 1). Codes follow the
pattern of the national statistical division codes: a 9-digit township code (county
code + 1xx for a 镇, 2xx for a 乡) and a 12-digit village code (township + 0xx for an
urban community, 2xx for a village).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

from fangpin.synth.names import community_names, village_names


@dataclass(frozen=True)
class Township:
    name: str
    weight: float  # share of the county's population, before normalising
    villages: int
    communities: int = 0  # urban communities (社区), in the county seat


@dataclass(frozen=True)
class CountySpec:
    name: str
    code: str  # current 6-digit division code
    townships: tuple[Township, ...]
    poor_townships: frozenset[str]  # mountain townships where poverty was deepest


COUNTIES: dict[str, CountySpec] = {
    # 同心县, 吴忠市, 宁夏: 7 镇 and 4 乡. Village counts and weights are rough.
    "同心县": CountySpec(
        name="同心县",
        code="640324",
        townships=(
            Township("豫海镇", 0.20, 10, communities=6),
            Township("河西镇", 0.10, 15),
            Township("丁塘镇", 0.08, 11),
            Township("韦州镇", 0.12, 18),
            Township("下马关镇", 0.09, 16),
            Township("预旺镇", 0.09, 15),
            Township("王团镇", 0.10, 15),
            Township("田老庄乡", 0.05, 8),
            Township("马高庄乡", 0.05, 8),
            Township("张家塬乡", 0.05, 8),
            Township("兴隆乡", 0.07, 12),
        ),
        poor_townships=frozenset(
            {"预旺镇", "田老庄乡", "马高庄乡", "张家塬乡", "兴隆乡", "王团镇"}
        ),
    ),
    # 盐池县, 吴忠市, 宁夏: 4 镇 and 4 乡; handy for a second county in tests.
    "盐池县": CountySpec(
        name="盐池县",
        code="640323",
        townships=(
            Township("花马池镇", 0.35, 16, communities=5),
            Township("大水坑镇", 0.15, 14),
            Township("惠安堡镇", 0.12, 11),
            Township("高沙窝镇", 0.08, 8),
            Township("王乐井乡", 0.09, 10),
            Township("冯记沟乡", 0.07, 8),
            Township("青山乡", 0.07, 9),
            Township("麻黄山乡", 0.07, 8),
        ),
        poor_townships=frozenset({"麻黄山乡", "青山乡", "冯记沟乡"}),
    ),
}


def county_spec(county: str) -> CountySpec:
    """The built-in description of a county; raises ValueError for an unknown one."""
    try:
        return COUNTIES[county]
    except KeyError:
        known = "、".join(COUNTIES)
        raise ValueError(
            f"no synthetic area data for {county!r}; known counties: {known}"
        ) from None


def build_areas(rng: np.random.Generator, spec: CountySpec) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The area tree, and a village table with each village's share of the population.

    Returns ``(areas, villages)``: ``areas`` has ``code, name, level, parent_code,
    synthetic``; ``villages`` has ``village_code, village_name, township_code,
    township_name, weight, poor`` and is what households are placed into.
    """
    rows: list[tuple[str, str, str, str, int]] = [(spec.code, spec.name, "county", "", 0)]
    vrows: list[tuple[str, str, str, str, float, bool]] = []
    taken: set[str] = set()
    total = sum(t.weight for t in spec.townships)
    towns, xiangs = 0, 0
    for t in spec.townships:
        # 1xx for a 镇, 2xx for a 乡: a convention of the national code, not real codes.
        if t.name.endswith("乡"):
            tcode = f"{spec.code}{200 + xiangs:03d}"
            xiangs += 1
        else:
            tcode = f"{spec.code}{100 + towns:03d}"
            towns += 1
        rows.append((tcode, t.name, "township", spec.code, 1))
        names = [
            (f"{tcode}{i + 1:03d}", n)
            for i, n in enumerate(community_names(rng, t.communities, taken))
        ]
        names += [
            (f"{tcode}{200 + i + 1:03d}", n)
            for i, n in enumerate(village_names(rng, t.villages, taken))
        ]
        # Villages differ in size; communities in the county seat are bigger.
        sizes = rng.gamma(4.0, 1.0, size=len(names))
        sizes[: t.communities] *= 2.0
        sizes = sizes / sizes.sum() * (t.weight / total)
        for (vcode, vname), w in zip(names, sizes, strict=True):
            rows.append((vcode, vname, "village", tcode, 1))
            vrows.append((vcode, vname, tcode, t.name, float(w), t.name in spec.poor_townships))
    areas = pl.DataFrame(
        rows, schema=["code", "name", "level", "parent_code", "synthetic"], orient="row"
    )
    villages = pl.DataFrame(
        vrows,
        schema=["village_code", "village_name", "township_code", "township_name", "weight", "poor"],
        orient="row",
    )
    return areas, villages


def place_names(villages: pl.DataFrame) -> pl.DataFrame:
    """Each village's code with its name and its township's (columns village_code, village,
    township): what a list or an enrollment record writes of where a person lives."""
    return villages.select(
        "village_code",
        pl.col("village_name").alias("village"),
        pl.col("township_name").alias("township"),
    )


def county_in_region(region: str) -> str | None:
    """The first built-in county named in a region pack's region text (e.g. 宁夏回族自治区吴忠市
    (同心县、盐池县) → 同心县), or None when the pack's region has none of them."""
    return next((name for name in COUNTIES if name in region), None)
