"""Putting claims in settlement order: by person, then (setl_date, setl_id), cut into person-years.

Sorting ten million person numbers as text is slow, so the order comes from sorting one 64-bit
integer per claim: the top bits of a hash of the person number, the day, and the claim's row
number (so the sorted keys *are* the permutation). A second, independent 64-bit hash tells apart
the few people whose first hashes share those top bits; their rows are re-sorted on their own.
Two different people would have to agree on both hashes to be merged, a chance far below one in
10^15 for a whole province. Claims of one person on one day are then put in setl_id order
(RULES §1), touching only those few rows.

The keys are sorted as records (engine.radix) that can carry each claim's data along: column 0
holds the key, column 1 the second hash, and the caller's columns from ORDER_COLS on come out in
settlement order without a gather through the permutation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
import polars as pl

from fangpin.engine import radix

SEED_A, SEED_B = 0x5EED_0001, 0x5EED_0002
MIN_HASH_BITS = 20
REC_KEY, REC_HASH = 0, 1  # the columns of a record the order writes
ORDER_COLS = 2
SORT_CHUNKS = 16  # slices of the first sorting pass, for the cores


@dataclass
class Order:
    perm: np.ndarray  # input positions in settlement order
    seg_starts: np.ndarray  # sorted position where each person-year starts
    seg_years: np.ndarray  # benefit year of each person-year
    days: np.ndarray  # settlement date (days since epoch) of each sorted claim
    records: np.ndarray  # the records in settlement order (REC_KEY, REC_HASH, caller's columns)
    # People are in order of (first hash >> top_shift, second hash); 0: in order of psn_no.
    top_shift: int = 0
    # The first hash (SEED_A) of each input row's person, whole (with top_shift > 0).
    first_hash: np.ndarray | None = None

    def top_hash(self, first_hash: np.ndarray) -> np.ndarray:
        """The part of the first hash (SEED_A) that orders people."""
        return first_hash >> np.uint64(self.top_shift)

    @property
    def person_top(self) -> np.ndarray:
        """top_hash of each sorted claim's person (with top_shift > 0)."""
        return _keys(self.records) >> np.uint64(self.top_shift)

    def people_at(self, positions: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """person_top and person_hash of the sorted claims at `positions` only (uint64)."""
        top = np.empty(len(positions), dtype=np.int64)
        second = np.empty(len(positions), dtype=np.int64)
        _people_at(self.records, positions, self.top_shift, top, second)
        return top.view(np.uint64), second.view(np.uint64)

    @property
    def person_hash(self) -> np.ndarray:
        """The second hash of each sorted claim's person (for identity lookup)."""
        return self.records[:, REC_HASH].view(np.uint64)

    @property
    def seg_of(self) -> np.ndarray:
        """The person-year index of each sorted claim."""
        sizes = np.diff(np.append(self.seg_starts, len(self.perm)))
        return np.repeat(np.arange(len(self.seg_starts)), sizes)

    @property
    def years(self) -> np.ndarray:
        """The benefit year of each sorted claim."""
        return year_of(self.days)


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


@nb.njit(cache=True, parallel=True)
def _people_at(records, positions, top_shift, top, second):
    for j in nb.prange(len(positions)):
        i = positions[j]
        top[j] = np.uint64(records[i, REC_KEY]) >> np.uint64(top_shift)
        second[j] = records[i, REC_HASH]


def person_hashes(psn: pl.Series) -> tuple[np.ndarray, np.ndarray]:
    """The first (SEED_A) and second (SEED_B) hash of each person number."""
    return person_hash(psn, SEED_A), person_hash(psn, SEED_B)


def settlement_order(
    psn: pl.Series,
    days: np.ndarray,
    setl_id: pl.Series,
    records: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
    hashes: tuple[np.ndarray, np.ndarray] | None = None,
) -> Order:
    """The settlement order of claims (`days`: setl_date as days since 1970, int32).

    `records`, when given, is an (n, w) int64 matrix in input order whose columns from
    ORDER_COLS on belong to the caller; it is reordered in place into settlement order.
    `scratch`, when given, is memory of at least the records' size the sort may use.
    `hashes`, when given, are person_hashes(psn), computed beforehand.
    """
    n = len(psn)
    if records is None:
        records = np.empty((n, ORDER_COLS), dtype=np.int64)
    if n == 0:
        return _exact_order(psn, days, setl_id, records)
    dmin = int(days.min())
    idx_bits = max(1, (n - 1).bit_length())
    day_bits = max(1, (int(days.max()) - dmin).bit_length())
    hash_bits = 64 - idx_bits - day_bits
    if hash_bits < MIN_HASH_BITS:
        return _exact_order(psn, days, setl_id, records)
    first, second = person_hashes(psn) if hashes is None else hashes
    first = first.view(np.int64)
    _fill_keys(first, second.view(np.int64), days, dmin, hash_bits, day_bits, idx_bits, records)
    tmp = np.empty(records.size, dtype=np.int64) if scratch is None else scratch
    tmp = tmp.reshape(-1)[: records.size].reshape(records.shape)
    radix.sort_records(records, tmp, idx_bits, 64, SORT_CHUNKS)
    top_shift = idx_bits + day_bits
    flags = np.empty(n, dtype=np.int8)
    clashes, same_days = _adjacent(records, top_shift, hash_bits, idx_bits, day_bits, flags)
    if clashes:
        _separate_people(records, flags, top_shift)
        clashes, same_days = _adjacent(records, top_shift, hash_bits, idx_bits, day_bits, flags)
    if same_days:
        _order_same_day(records, flags, setl_id, idx_bits)
    lo, hi = dmin, int(days.max())
    span = np.arange(lo, hi + 1).astype("datetime64[D]")
    year_table = span.astype("datetime64[Y]").astype(np.int64) + 1970
    perm = np.empty(n, dtype=np.int64)
    sorted_days = np.empty(n, dtype=np.int32)
    n_seg = _segments(records, flags, idx_bits, day_bits, dmin, year_table, perm, sorted_days)
    seg_starts = np.empty(n_seg, dtype=np.int64)
    seg_years = np.empty(n_seg, dtype=np.int64)
    _seg_starts(flags, sorted_days, dmin, year_table, seg_starts, seg_years)
    return Order(perm, seg_starts, seg_years, sorted_days, records, top_shift, first)


# flags[i]: how claim i relates to claim i - 1, and whether it starts a person-year
SAME_TOP, SAME_PERSON, SAME_DAY, NEW_SEG = 1, 2, 4, 8


@nb.njit(cache=True, parallel=True)
def _fill_keys(ha, hb, days, dmin, hash_bits, day_bits, idx_bits, records):
    top_shift = 64 - hash_bits
    top_mask = (1 << hash_bits) - 1
    for i in nb.prange(len(ha)):
        top = (ha[i] >> top_shift) & top_mask
        records[i, REC_KEY] = (top << (idx_bits + day_bits)) | ((days[i] - dmin) << idx_bits) | i
        records[i, REC_HASH] = hb[i]


@nb.njit(cache=True, parallel=True)
def _adjacent(records, top_shift, hash_bits, idx_bits, day_bits, flags):
    """flags[i] for sorted records; returns (rows whose top bits match the previous row's but
    the person's second hash does not, rows on the same day as the previous of one person).
    Each row is compared with the one before it alone, so slices of rows go on all cores."""
    top_mask = (1 << hash_bits) - 1
    day_mask = (1 << day_bits) - 1
    n = records.shape[0]
    step = (n + SORT_CHUNKS - 1) // SORT_CHUNKS
    clashes = np.zeros(SORT_CHUNKS, dtype=np.int64)
    same_days = np.zeros(SORT_CHUNKS, dtype=np.int64)
    for c in nb.prange(SORT_CHUNKS):
        for i in range(max(1, c * step), min(n, (c + 1) * step)):
            diff = records[i, REC_KEY] ^ records[i - 1, REC_KEY]
            f = 0
            if (diff >> top_shift) & top_mask == 0:
                f = SAME_TOP
                if records[i, REC_HASH] == records[i - 1, REC_HASH]:
                    f |= SAME_PERSON
                    if (diff >> idx_bits) & day_mask == 0:
                        f |= SAME_DAY
                        same_days[c] += 1
                else:
                    clashes[c] += 1
            flags[i] = f
    flags[0] = 0
    return clashes.sum(), same_days.sum()


@nb.njit(cache=True, parallel=True)
def _segments(records, flags, idx_bits, day_bits, dmin, year_table, perm, days):
    """From the sorted records: each claim's input row and day; marks (NEW_SEG) and counts
    the person-years (a claim starts one when its person or year differs from the claim
    before it's)."""
    idx_mask = (1 << idx_bits) - 1
    day_mask = (1 << day_bits) - 1
    n = records.shape[0]
    step = (n + SORT_CHUNKS - 1) // SORT_CHUNKS
    counts = np.zeros(SORT_CHUNKS, dtype=np.int64)
    for c in nb.prange(SORT_CHUNKS):
        lo = c * step
        prev_year = -1
        if 0 < lo < n:
            prev_year = year_table[(records[lo - 1, REC_KEY] >> idx_bits) & day_mask]
        for i in range(lo, min(n, (c + 1) * step)):
            key = records[i, REC_KEY]
            perm[i] = key & idx_mask
            d = (key >> idx_bits) & day_mask
            days[i] = dmin + d
            year = year_table[d]
            if i == 0 or (flags[i] & SAME_PERSON) == 0 or year != prev_year:
                flags[i] |= NEW_SEG
                counts[c] += 1
            prev_year = year
    return counts.sum()


@nb.njit(cache=True)
def _seg_starts(flags, days, dmin, year_table, starts, years):
    s = 0
    for i in range(len(flags)):
        if flags[i] & NEW_SEG:
            starts[s] = i
            years[s] = year_table[days[i] - dmin]
            s += 1


def _keys(records: np.ndarray) -> np.ndarray:
    return records[:, REC_KEY].view(np.uint64)


def _separate_people(records: np.ndarray, flags: np.ndarray, top_shift: int) -> None:
    """Rows whose people share the top hash bits: re-sort them by (second hash, day, row)."""
    pos = _clash_runs(flags)  # rows of one top value are contiguous: whole runs with a clash
    keys = _keys(records)[pos]
    sub = pl.DataFrame(
        {
            "t": keys >> np.uint64(top_shift),
            "h": records[pos, REC_HASH].view(np.uint64),
            "k": keys,  # (day, row) below the top bits
            "p": pos,
        }
    ).sort(["t", "h", "k"])
    records[pos] = records[sub["p"].to_numpy()]


# Compiled on import (it runs only when people clash, which a warm-up rarely shows).
@nb.njit("int64[::1](int8[::1])", cache=True)
def _clash_runs(flags):
    """Positions of the runs of one top value holding more than one person."""
    n = len(flags)
    out = []
    start = 0
    clash = False
    for i in range(1, n + 1):
        if i == n or (flags[i] & SAME_TOP) == 0:
            if clash:
                for j in range(start, i):
                    out.append(j)
            start = i
            clash = False
        elif (flags[i] & SAME_PERSON) == 0:
            clash = True
    return np.array(out, dtype=np.int64)


def _order_same_day(
    records: np.ndarray, flags: np.ndarray, setl_id: pl.Series, idx_bits: int
) -> None:
    """Within each run of one person's claims on one day, order by setl_id (in place)."""
    same_day = (flags & SAME_DAY) != 0
    involved = same_day.copy()
    involved[:-1] |= same_day[1:]
    pos = np.flatnonzero(involved)
    run = np.cumsum(~same_day[pos])
    rows = (_keys(records)[pos] & np.uint64((1 << idx_bits) - 1)).astype(np.int64)
    sub = pl.DataFrame({"run": run, "pos": pos, "sid": setl_id.gather(rows)})
    ranked = sub.sort(["run", "sid"], maintain_order=True)["pos"].to_numpy()
    if not np.array_equal(ranked, pos):  # files often list a day's claims in setl_id order
        records[pos] = records[ranked]


def _exact_order(
    psn: pl.Series, days: np.ndarray, setl_id: pl.Series, records: np.ndarray
) -> Order:
    """The plain text sort, for tiny batches and spans the packed key cannot hold."""
    frame = pl.DataFrame(
        {"p": psn, "d": days, "s": setl_id, "i": np.arange(len(psn), dtype=np.int64)}
    )
    frame = frame.sort(["p", "d", "s"])
    perm = frame["i"].to_numpy().copy()
    ds = frame["d"].to_numpy().astype(np.int32)
    years = year_of(ds)
    p = frame["p"]
    new_seg = np.ones(len(perm), dtype=bool)
    if len(perm) > 1:
        new_seg[1:] = p.ne_missing(p.shift(1)).to_numpy()[1:] | (years[1:] != years[:-1])
    records[:, REC_KEY] = np.arange(len(perm))
    records[:, REC_HASH] = person_hash(psn, SEED_B).view(np.int64)
    records[:] = records[perm]
    starts = np.flatnonzero(new_seg)
    return Order(perm, starts, years[starts], ds, records)
