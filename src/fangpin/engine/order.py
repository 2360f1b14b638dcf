"""Putting claims in settlement order: by person, then (setl_date, setl_id), cut into person-years.

Sorting ten million person numbers as text is slow, so the order is built on a 64-bit hash of
the person number and the date; a second independent hash proves no two people share the first
(if they ever do, the exact text sort is used instead). Claims of one person on one day are then
put in setl_id order (RULES §1), which only touches those few rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

SEED_A, SEED_B = 0x5EED_0001, 0x5EED_0002
DAY_BITS = 20  # dates of a batch span fewer than 2**20 days (2,870 years)
HIGH_MASK = np.uint64(((1 << 64) - 1) ^ ((1 << DAY_BITS) - 1))


@dataclass
class Order:
    perm: np.ndarray  # input positions in settlement order
    seg_of: np.ndarray  # person-year index of each sorted claim
    seg_starts: np.ndarray  # sorted position where each person-year starts
    years: np.ndarray  # benefit year of each sorted claim
    days: np.ndarray  # settlement date (days since epoch) of each sorted claim


def person_hash(psn: pl.Series, seed: int = SEED_A) -> np.ndarray:
    return psn.hash(seed=seed).to_numpy()


def year_of(days: np.ndarray) -> np.ndarray:
    """Calendar year of each date (days since 1970), through a table over the dates' span."""
    if len(days) == 0:
        return np.zeros(0, dtype=np.int64)
    lo, hi = int(days.min()), int(days.max())
    span = np.arange(lo, hi + 1).astype("datetime64[D]")
    table = span.astype("datetime64[Y]").astype(np.int64) + 1970
    return table[days - lo]


def settlement_order(psn: pl.Series, days: np.ndarray, setl_id: pl.Series) -> Order:
    n = len(psn)
    if n == 0:
        return _exact_order(psn, days, setl_id)
    ha = person_hash(psn, SEED_A)
    hb = person_hash(psn, SEED_B)
    dmin = int(days.min())
    span = int(days.max()) - dmin + 1
    if span < 1 << DAY_BITS:
        # One 64-bit key: the hash's top bits, then the day. A sort on one integer column is
        # much faster than on two; the second hash catches two people sharing those top bits.
        key = (ha & HIGH_MASK) | (days.astype(np.int64) - dmin).astype(np.uint64)
        perm = pl.Series(key).arg_sort().to_numpy().astype(np.int64)
        hs = key[perm] & HIGH_MASK
    else:
        keyed = pl.DataFrame({"h": ha, "d": days, "i": np.arange(n, dtype=np.int64)}).sort(["h", "d"], multithreaded=True)
        perm = keyed["i"].to_numpy().copy()
        hs = keyed["h"].to_numpy()
    ds = days[perm]
    same_person = hs[1:] == hs[:-1]
    hbs = hb[perm]
    if np.any(same_person & (hbs[1:] != hbs[:-1])):
        return _exact_order(psn, days, setl_id)
    same_day = same_person & (ds[1:] == ds[:-1])
    if same_day.any():
        _order_same_day(perm, same_day, setl_id)
    years = year_of(ds)
    new_seg = np.ones(n, dtype=bool)
    new_seg[1:] = ~same_person | (years[1:] != years[:-1])
    return Order(perm, np.cumsum(new_seg) - 1, np.flatnonzero(new_seg), years, ds)


def _order_same_day(perm: np.ndarray, same_day: np.ndarray, setl_id: pl.Series) -> None:
    """Within each run of one person's claims on one day, order by setl_id (in place)."""
    involved = np.zeros(len(perm), dtype=bool)
    involved[:-1] |= same_day
    involved[1:] |= same_day
    pos = np.flatnonzero(involved)
    run_start = np.ones(len(pos), dtype=bool)
    run_start[1:] = ~same_day[pos[1:] - 1]
    run = np.cumsum(run_start)
    sub = pl.DataFrame({"run": run, "pos": pos, "sid": setl_id.gather(perm[pos])})
    ranked = sub.sort(["run", "sid"])
    perm[pos] = perm[ranked["pos"].to_numpy()]


def _exact_order(psn: pl.Series, days: np.ndarray, setl_id: pl.Series) -> Order:
    frame = pl.DataFrame({"p": psn, "d": days, "s": setl_id, "i": np.arange(len(psn), dtype=np.int64)})
    frame = frame.sort(["p", "d", "s"])
    perm = frame["i"].to_numpy().copy()
    ds = frame["d"].to_numpy()
    years = year_of(ds)
    p = frame["p"]
    new_seg = np.ones(len(perm), dtype=bool)
    if len(perm) > 1:
        new_seg[1:] = p.ne_missing(p.shift(1)).to_numpy()[1:] | (years[1:] != years[:-1])
    return Order(perm, np.cumsum(new_seg) - 1, np.flatnonzero(new_seg), years, ds)
