"""Putting claims in settlement order: by person, then (setl_date, setl_id), cut into person-years.

Sorting ten million person numbers as text is slow, so the order comes from sorting one 64-bit
integer per claim: the top bits of a hash of the person number, the day, and the claim's row
number (so the sorted keys *are* the permutation). A second, independent 64-bit hash tells apart
the few people whose first hashes share those top bits; their rows are re-sorted on their own.
Two different people would have to agree on both hashes to be merged, a chance far below one in
10^15 for a whole province. Claims of one person on one day are then put in setl_id order
(RULES §1), touching only those few rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import polars as pl

SEED_A, SEED_B = 0x5EED_0001, 0x5EED_0002
MIN_HASH_BITS = 20


@dataclass
class Order:
    perm: np.ndarray  # input positions in settlement order
    seg_of: np.ndarray  # person-year index of each sorted claim
    seg_starts: np.ndarray  # sorted position where each person-year starts
    years: np.ndarray  # benefit year of each sorted claim
    days: np.ndarray  # settlement date (days since epoch) of each sorted claim
    person_hash: np.ndarray  # the second hash of each sorted claim's person (for identity lookup)


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
    dmin = int(days.min())
    idx_bits = max(1, (n - 1).bit_length())
    day_bits = max(1, (int(days.max()) - dmin).bit_length())
    hash_bits = 64 - idx_bits - day_bits
    if hash_bits < MIN_HASH_BITS:
        return _exact_order(psn, days, setl_id)
    hb = person_hash(psn, SEED_B)
    top = person_hash(psn, SEED_A) >> np.uint64(64 - hash_bits)
    key = (
        (top << np.uint64(idx_bits + day_bits))
        | ((days.astype(np.int64) - dmin).astype(np.uint64) << np.uint64(idx_bits))
        | np.arange(n, dtype=np.uint64)
    )
    key = pl.Series(key).sort().to_numpy()
    perm = (key & np.uint64((1 << idx_bits) - 1)).astype(np.int64)
    tops = key >> np.uint64(idx_bits + day_bits)
    hbs = hb[perm]
    same_top = tops[1:] == tops[:-1]
    clash = same_top & (hbs[1:] != hbs[:-1])
    if clash.any():
        _separate_people(perm, tops, hb, days, clash)
        hbs = hb[perm]
    ds = days[perm]
    same_person = same_top & (hbs[1:] == hbs[:-1])
    same_day = same_person & (ds[1:] == ds[:-1])
    if same_day.any():
        _order_same_day(perm, same_day, setl_id)
        ds = days[perm]
    years = year_of(ds)
    new_seg = np.ones(n, dtype=bool)
    new_seg[1:] = ~same_person | (years[1:] != years[:-1])
    return Order(perm, np.cumsum(new_seg) - 1, np.flatnonzero(new_seg), years, ds, hb[perm])


def _separate_people(perm: np.ndarray, tops: np.ndarray, hb: np.ndarray, days: np.ndarray, clash: np.ndarray) -> None:
    """Rows whose people share the top hash bits: re-sort them by (second hash, day, row)."""
    # Rows of one top value are contiguous: mark whole runs that contain a clash.
    run_start = np.ones(len(tops), dtype=bool)
    run_start[1:] = tops[1:] != tops[:-1]
    run_id = np.cumsum(run_start) - 1
    bad_run = np.zeros(int(run_id[-1]) + 1, dtype=bool)
    bad_run[run_id[1:][clash]] = True
    pos = np.flatnonzero(bad_run[run_id])
    rows = perm[pos]
    sub = pl.DataFrame({"t": tops[pos], "h": hb[rows], "d": days[rows], "r": rows}).sort(["t", "h", "d", "r"])
    perm[pos] = sub["r"].to_numpy()


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
    """The plain text sort, for tiny batches and spans the packed key cannot hold."""
    frame = pl.DataFrame({"p": psn, "d": days, "s": setl_id, "i": np.arange(len(psn), dtype=np.int64)})
    frame = frame.sort(["p", "d", "s"])
    perm = frame["i"].to_numpy().copy()
    ds = frame["d"].to_numpy()
    years = year_of(ds)
    p = frame["p"]
    new_seg = np.ones(len(perm), dtype=bool)
    if len(perm) > 1:
        new_seg[1:] = p.ne_missing(p.shift(1)).to_numpy()[1:] | (years[1:] != years[:-1])
    return Order(perm, np.cumsum(new_seg) - 1, np.flatnonzero(new_seg), years, ds, person_hash(psn, SEED_B)[perm])
