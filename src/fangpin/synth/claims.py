"""A year of settled claims (结算记录) for the people insured in the county's resident scheme.

Frequencies rise with age, chronic disease and poverty (special persons see doctors
more and are admitted more often); most care is at township and county level. A few
people have a catastrophic illness — cancer, kidney failure on dialysis, leukaemia —
costing 100 000 to 800 000 yuan in the year, so that the high-cost warnings (self-pay
above 5 000 / 10 000 / 20 000 yuan) hit a small share of people.

Amounts are drawn as floats once and turned into integer fen; every split after that
(out-of-catalogue, over-limit, pre-paid parts) is integer arithmetic in basis points, so
``fulamt_ownpay_amt + overlmt_selfpay + preselfpay_amt <= medfee_sumamt`` holds exactly.
"""

from __future__ import annotations

import numpy as np
import polars as pl

from fangpin.synth.money import fen_from_yuan, share, yuan
from fangpin.synth.people import CANCER, DIALYSIS, LEUKAEMIA, by_age

GENERAL, CHRONIC, INPATIENT = 11, 14, 21

# Level mix (township, county, city, province) per medical type.
_LEVEL_P = {
    GENERAL: [0.85, 0.15, 0.0, 0.0],
    CHRONIC: [0.35, 0.50, 0.12, 0.03],
    INPATIENT: [0.32, 0.46, 0.16, 0.06],
}
# Median total cost in yuan per (type, level); log-normal spread sigma.
_MEDIAN = {
    GENERAL: [45, 90, 150, 200],
    CHRONIC: [250, 450, 700, 900],
    INPATIENT: [2000, 5200, 11000, 20000],
}
_SIGMA = {GENERAL: 0.7, CHRONIC: 0.6, INPATIENT: 0.6}
# Mean share of out-of-catalogue (全自费) cost by level; higher-level hospitals use more.
_OUT_OF_CATALOGUE = [0.02, 0.05, 0.08, 0.12]

_COLUMNS = [
    "setl_id", "psn_no", "setl_date", "med_type", "hosp_lv", "in_province", "referral",
    "medfee_sumamt", "fulamt_ownpay_amt", "overlmt_selfpay", "preselfpay_amt",
]  # fmt: skip


def _dates(rng: np.random.Generator, start: np.ndarray, stop: np.ndarray) -> np.ndarray:
    """Uniform dates in [start, stop] (datetime64[D] arrays)."""
    span = (stop - start).astype(np.int64) + 1
    return start + (rng.random(len(start)) * span).astype(np.int64)


def _routine(rng: np.random.Generator, who: dict) -> dict:
    """Ordinary outpatient, chronic and inpatient claims of everyone covered."""
    age, special, chronic, expo = who["age"], who["special"], who["chronic"], who["exposure"]
    lam11 = by_age(age, [7, 18, 45, 60, 75], [2.5, 1.2, 1.2, 2.5, 4.0, 5.0]) * np.where(
        special, 1.3, 1.0
    )
    lam14 = np.where(chronic, 9.0, 0.0)
    lam21 = by_age(age, [5, 18, 45, 60, 75], [0.12, 0.04, 0.06, 0.12, 0.25, 0.40])
    lam21 = lam21 * np.where(special, 1.6, 1.0) * np.where(chronic, 2.0, 1.0)
    parts = []
    for med_type, lam in ((GENERAL, lam11), (CHRONIC, lam14), (INPATIENT, lam21)):
        counts = rng.poisson(lam * expo)
        idx = np.repeat(np.arange(len(age)), counts)
        m = len(idx)
        lv = rng.choice(4, size=m, p=_LEVEL_P[med_type]) + 1
        # Province-level care is sometimes outside Ningxia (Xi'an, Beijing).
        p_out = (
            np.select([lv == 4, lv == 3], [0.35, 0.05], 0.0) if med_type != GENERAL else np.zeros(m)
        )
        out = rng.random(m) < p_out
        median = np.asarray(_MEDIAN[med_type], dtype=float)[lv - 1] * np.where(out, 1.3, 1.0)
        amount = np.minimum(rng.lognormal(np.log(median), _SIGMA[med_type]), 300_000)
        amount = np.maximum(amount, 5.0)
        mean_ooc = np.asarray(_OUT_OF_CATALOGUE)[lv - 1]
        parts.append(
            {
                "who": idx,
                "med_type": np.full(m, med_type),
                "hosp_lv": lv,
                "out": out,
                "fen": fen_from_yuan(amount),
                "ooc_mean": mean_ooc if med_type != GENERAL else np.full(m, 0.03),
            }
        )
    return _concat(parts)


def _catastrophic(rng: np.random.Generator, who: dict) -> dict:
    """Treatment series of the catastrophically ill: the year's total split over episodes."""
    kind, expo = who["catastrophic"], who["exposure"]
    parts = []
    specs = (
        # kind, total yuan (low, high, log-uniform), episodes (low, high), med_type,
        # level-4 share, out-of-province share per patient, out-of-catalogue share
        (CANCER, (100_000, 500_000), (4, 10), INPATIENT, 0.6, 0.3, 0.18),
        (LEUKAEMIA, (200_000, 800_000), (3, 8), INPATIENT, 1.0, 0.5, 0.20),
        (DIALYSIS, (80_000, 130_000), (12, 12), CHRONIC, 0.0, 0.0, 0.03),
    )
    for k, (lo, hi), (emin, emax), med_type, p4, p_out, ooc in specs:
        pid = np.flatnonzero(kind == k)
        if len(pid) == 0:
            continue
        total = np.exp(rng.uniform(np.log(lo), np.log(hi), size=len(pid))) * expo[pid]
        episodes = np.maximum(
            np.rint(rng.integers(emin, emax + 1, size=len(pid)) * expo[pid]), 1
        ).astype(np.int64)
        idx = np.repeat(pid, episodes)
        m = len(idx)
        # Split each patient's total over the episodes (Dirichlet weights via gammas).
        g = rng.gamma(2.0, 1.0, size=m)
        first = np.r_[0, np.cumsum(episodes)[:-1]]
        g_sum = np.add.reduceat(g, first)
        amount = total[np.repeat(np.arange(len(pid)), episodes)] * g / np.repeat(g_sum, episodes)
        if med_type == CHRONIC:  # dialysis at a county or city hospital
            lv = np.where(rng.random(len(pid)) < 0.6, 2, 3)[
                np.repeat(np.arange(len(pid)), episodes)
            ]
        else:
            lv = np.where(rng.random(m) < p4, 4, 3)
        out = (rng.random(len(pid)) < p_out)[np.repeat(np.arange(len(pid)), episodes)] & (lv == 4)
        parts.append(
            {
                "who": idx,
                "med_type": np.full(m, med_type),
                "hosp_lv": lv,
                "out": out,
                "fen": fen_from_yuan(np.maximum(amount, 50.0)),
                "ooc_mean": np.full(m, ooc),
            }
        )
    return _concat(parts)


def _concat(parts: list[dict]) -> dict:
    keys = ["who", "med_type", "hosp_lv", "out", "fen", "ooc_mean"]
    if not parts:
        return {k: np.zeros(0, dtype=np.int64) for k in keys}
    return {k: np.concatenate([p[k] for p in parts]) for k in keys}


def _split(rng: np.random.Generator, c: dict) -> dict:
    """Out-of-catalogue, over-limit and pre-paid parts of each total, in basis points."""
    m = len(c["fen"])
    mean = np.clip(c["ooc_mean"], 0.005, 0.5)
    ooc_bp = (rng.beta(2.0, 2.0 * (1 - mean) / mean) * 10_000).astype(np.int64)
    over_bp = np.where(rng.random(m) < 0.3, rng.integers(0, 301, m), 0)
    pre_lo = np.select([c["med_type"] == GENERAL, c["med_type"] == CHRONIC], [0, 200], 300)
    pre_hi = np.select([c["med_type"] == GENERAL, c["med_type"] == CHRONIC], [300, 800], 1200)
    pre_bp = pre_lo + (rng.random(m) * (pre_hi - pre_lo + 1)).astype(np.int64)
    ooc_bp = np.minimum(ooc_bp, 10_000 - over_bp - pre_bp)  # the parts never exceed the total
    fen = c["fen"]
    return {"ful": share(fen, ooc_bp), "over": share(fen, over_bp), "pre": share(fen, pre_bp)}


def build_claims(
    rng: np.random.Generator,
    p: pl.DataFrame,
    coverage: pl.DataFrame,
    special: np.ndarray,
    year: int,
) -> pl.DataFrame:
    """The year's claims: public columns of RULES.md §3 plus ``person`` and the fen amounts."""
    cidx = coverage["person"].to_numpy()
    start = coverage["cover_from"].to_numpy().astype("datetime64[D]")
    stop = coverage["cover_to"].to_numpy().astype("datetime64[D]")
    who = {
        "age": p["age"].to_numpy()[cidx],
        "special": special[cidx],
        "chronic": p["chronic"].to_numpy()[cidx],
        "catastrophic": p["catastrophic"].to_numpy()[cidx],
        "exposure": ((stop - start).astype(np.int64) + 1) / 365.0,
    }
    a, b = _routine(rng, who), _catastrophic(rng, who)
    c = {k: np.concatenate([a[k], b[k]]) for k in a}
    m = len(c["fen"])
    w = c["who"]
    dates = _dates(rng, start[w], stop[w])
    parts = _split(rng, c)
    lv, out = c["hosp_lv"], c["out"]
    # Township and county care needs no referral; higher levels usually have one,
    # care outside the province less often (备案 missing).
    referral = np.where(lv <= 2, 1, (rng.random(m) < np.where(out, 0.6, 0.85)).astype(np.int64))
    # Settlement numbers follow the settlement order: by date, random within a day.
    order = np.lexsort((rng.random(m), dates))
    seq = np.empty(m, dtype=np.int64)
    seq[order] = np.arange(1, m + 1)
    df = pl.DataFrame(
        {
            "seq": seq,
            "person": cidx[w],
            "psn_no": p["psn_no"].to_numpy()[cidx[w]],
            "setl_date": pl.Series(dates.astype("datetime64[D]")).cast(pl.Date),
            "med_type": c["med_type"].astype(np.int64),
            "hosp_lv": lv.astype(np.int64),
            "in_province": (~out).astype(np.int64),
            "referral": referral.astype(np.int64),
            "medfee_fen": c["fen"],
            "fulamt_fen": parts["ful"],
            "overlmt_fen": parts["over"],
            "preself_fen": parts["pre"],
        }
    )
    return df.sort("seq").with_columns(
        (pl.lit(f"S{year}") + pl.col("seq").cast(pl.Utf8).str.zfill(9)).alias("setl_id")
    )


def claims_for_csv(claims: pl.DataFrame) -> pl.DataFrame:
    """The public columns, amounts as yuan strings with exactly two decimals."""
    return claims.select(
        "setl_id",
        "psn_no",
        pl.col("setl_date").cast(pl.Utf8),
        "med_type",
        "hosp_lv",
        "in_province",
        "referral",
        yuan("medfee_fen").alias("medfee_sumamt"),
        yuan("fulamt_fen").alias("fulamt_ownpay_amt"),
        yuan("overlmt_fen").alias("overlmt_selfpay"),
        yuan("preself_fen").alias("preselfpay_amt"),
    ).select(_COLUMNS)
