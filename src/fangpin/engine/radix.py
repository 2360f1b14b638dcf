"""Sorting records of int64 by bits of their first column, moving the whole record.

Claims arrive in no useful order, and reading them in settlement order through a permutation
costs one cache miss per claim and column. Sorting the records themselves costs two sequential
passes instead: one pass deals the records into buckets by the top bits of the key (each bucket
written in order, so the writes stream), then each bucket, small enough to stay in the core's
cache, is sorted on the remaining bits by least-significant-digit radix passes. Every pass is
stable, so records with equal sort bits keep their input order.
"""

from __future__ import annotations

import numba as nb
import numpy as np

MSD_BITS = 11  # at most 2048 buckets in the first pass
LSD_BITS = 10  # digit width of the passes inside a bucket
BUCKET_TARGET = 4096  # records a bucket should hold at least, on average


@nb.njit(cache=True, inline="always")
def _digit(key, shift, mask):
    return (key >> shift) & mask  # arithmetic shift: the mask keeps only the digit's own bits


@nb.njit(cache=True, inline="always")
def _copy_row(src, i, dst, j):
    for c in range(src.shape[1]):
        dst[j, c] = src[i, c]


@nb.njit(cache=True)
def _msd_width(n, sort_bits, msd_bits):
    width = 0
    while width < msd_bits and (n >> (width + 1)) >= BUCKET_TARGET:
        width += 1
    return min(width, sort_bits)


@nb.njit(cache=True)
def _lsd_range(src, dst, lo, hi, lo_bit, n_bits, lsd_bits):
    """Sorts src[lo:hi] on bits lo_bit..lo_bit+n_bits-1, ping-ponging with dst; the result
    ends in dst when the number of passes is odd, else in src. Returns True if in dst."""
    in_dst = False
    a, b = src, dst
    shift = lo_bit
    done = 0
    hist = np.empty((1 << lsd_bits) + 1, dtype=np.int64)
    while done < n_bits:
        width = min(lsd_bits, n_bits - done)
        mask = (1 << width) - 1
        hist[: (1 << width) + 1] = 0
        for i in range(lo, hi):
            hist[_digit(a[i, 0], shift, mask) + 1] += 1
        hist[0] = lo
        for d in range(1, (1 << width) + 1):
            hist[d] += hist[d - 1]
        for i in range(lo, hi):
            d = _digit(a[i, 0], shift, mask)
            _copy_row(a, i, b, hist[d])
            hist[d] += 1
        a, b = b, a
        in_dst = not in_dst
        shift += width
        done += width
    return in_dst


@nb.njit(cache=True)
def _deal_offsets(hist):
    """From per-chunk bucket counts (chunks × buckets): where each bucket starts (and the end),
    and, in place of the counts, where each chunk's share of each bucket goes; chunk c's share
    of a bucket comes after the shares of the chunks before it."""
    n_chunks, n_b = hist.shape
    starts = np.empty(n_b + 1, dtype=np.int64)
    total = 0
    for d in range(n_b):
        starts[d] = total
        for c in range(n_chunks):
            count = hist[c, d]
            hist[c, d] = total
            total += count
    starts[n_b] = total
    return starts


@nb.njit(cache=True, parallel=True)
def sort_records(rec, tmp, lo_bit, hi_bit, n_chunks, msd_bits=MSD_BITS, lsd_bits=LSD_BITS):
    """Sorts the rows of rec (n, w) int64 stably by the unsigned bits lo_bit..hi_bit-1 of
    column 0, in place; tmp is scratch of the same shape. n_chunks: parallel slices of pass 1."""
    n = rec.shape[0]
    sort_bits = hi_bit - lo_bit
    if n < 2 or sort_bits <= 0:
        return
    width = _msd_width(n, sort_bits, msd_bits)
    if width == 0:
        if _lsd_range(rec, tmp, 0, n, lo_bit, sort_bits, lsd_bits):
            rec[:, :] = tmp[:, :]
        return
    # Pass 1: deal the records into 2**width buckets by the top sort bits, chunk by chunk on
    # all cores; each chunk writes its share of a bucket after the earlier chunks' shares.
    shift = hi_bit - width
    n_b = 1 << width
    mask = n_b - 1
    step = (n + n_chunks - 1) // n_chunks
    hist = np.zeros((n_chunks, n_b), dtype=np.int64)
    for c in nb.prange(n_chunks):
        for i in range(c * step, min(n, (c + 1) * step)):
            hist[c, _digit(rec[i, 0], shift, mask)] += 1
    starts = _deal_offsets(hist)
    for c in nb.prange(n_chunks):
        for i in range(c * step, min(n, (c + 1) * step)):
            d = _digit(rec[i, 0], shift, mask)
            _copy_row(rec, i, tmp, hist[c, d])
            hist[c, d] += 1
    # Pass 2: each bucket on its own (in cache), on the remaining bits.
    for d in nb.prange(n_b):
        lo, hi = starts[d], starts[d + 1]
        if hi - lo < 1:
            continue
        if not _lsd_range(tmp, rec, lo, hi, lo_bit, sort_bits - width, lsd_bits):
            for i in range(lo, hi):
                _copy_row(tmp, i, rec, i)


_CHUNKS = 16  # slices of the array dealt on all cores


@nb.njit(cache=True, parallel=True)
def repeated_values(h):
    """The values occurring more than once in `h` (int64), each once, in no set order.

    The values are dealt into 2**MSD_BITS buckets by their top bits, as sort_records deals its
    records (chunks of the array on all cores); then each bucket, small enough for the core's
    cache, goes through a small hash set. Used to find ids given twice, through their hashes.
    """
    n = len(h)
    n_b = 1 << MSD_BITS
    shift = 64 - MSD_BITS
    mask = n_b - 1
    step = (n + _CHUNKS - 1) // _CHUNKS
    hist = np.zeros((_CHUNKS, n_b), dtype=np.int64)
    for c in nb.prange(_CHUNKS):
        for i in range(c * step, min(n, (c + 1) * step)):
            hist[c, (h[i] >> shift) & mask] += 1
    starts = _deal_offsets(hist)
    dealt = np.empty(n, dtype=np.int64)
    for c in nb.prange(_CHUNKS):
        for i in range(c * step, min(n, (c + 1) * step)):
            d = (h[i] >> shift) & mask
            dealt[hist[c, d]] = h[i]
            hist[c, d] += 1
    found = np.zeros(n_b, dtype=np.int64)  # per bucket: how many repeated values
    biggest = 0
    for d in range(n_b):
        biggest = max(biggest, starts[d + 1] - starts[d])
    size = 16
    while size < 2 * biggest:
        size *= 2
    for c in nb.prange(_CHUNKS):
        # Each bucket into a small open-addressing set (the values' low bits are well mixed);
        # a value met again is moved to the bucket's front, once.
        keys = np.empty(size, dtype=np.int64)
        seen = np.zeros(size, dtype=np.uint8)  # 0 empty, 1 met once, 2 met again
        for d in range(c * n_b // _CHUNKS, (c + 1) * n_b // _CHUNKS):
            lo, hi = starts[d], starts[d + 1]
            width = 16
            while width < 2 * (hi - lo):
                width *= 2
            seen[:width] = 0
            k = 0
            for i in range(lo, hi):
                v = dealt[i]
                slot = v & (width - 1)
                while seen[slot] != 0 and keys[slot] != v:
                    slot = (slot + 1) & (width - 1)
                if seen[slot] == 0:
                    seen[slot] = 1
                    keys[slot] = v
                elif seen[slot] == 1:
                    seen[slot] = 2
                    dealt[lo + k] = v  # lo + k <= i: only values already read are overwritten
                    k += 1
            found[d] = k
    out = np.empty(found.sum(), dtype=np.int64)
    j = 0
    for d in range(n_b):
        for i in range(found[d]):
            out[j] = dealt[starts[d] + i]
            j += 1
    return out
