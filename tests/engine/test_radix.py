"""Sorting records by bits of their key: a stable sort that carries the whole record."""

import numpy as np
import pytest

from fangpin.engine import radix


def _records(n: int, key_bits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rec = np.zeros((n, 3), dtype=np.int64)
    # Few distinct keys, so many ties whose input order must survive.
    rec[:, 0] = rng.integers(0, 2**key_bits, n, dtype=np.uint64).astype(np.int64) << 20
    rec[:, 1] = np.arange(n)
    rec[:, 2] = rng.integers(-(2**40), 2**40, n)
    return rec


@pytest.mark.parametrize("n", [0, 1, 2, 17, 5_000, 70_000])
def test_records_come_out_as_a_stable_sort_on_the_chosen_bits(n):
    rec = _records(n, 12, seed=n)
    expected = rec[np.argsort(rec[:, 0].view(np.uint64) >> np.uint64(20), kind="stable")]
    got = rec.copy()
    radix.sort_records(got, np.empty_like(got), 20, 64, 4)
    assert np.array_equal(got, expected)


def test_keys_with_the_top_bit_set_sort_as_unsigned_numbers():
    rec = np.zeros((40_000, 2), dtype=np.int64)
    keys = np.random.default_rng(1).integers(0, 2**64, 40_000, dtype=np.uint64)
    rec[:, 0] = keys.view(np.int64)
    rec[:, 1] = np.arange(len(rec))
    radix.sort_records(rec, np.empty_like(rec), 0, 64, 3)
    assert np.array_equal(rec[:, 0].view(np.uint64), np.sort(keys))
    assert np.array_equal(keys[rec[:, 1]], rec[:, 0].view(np.uint64))


def test_bits_outside_the_range_do_not_reorder():
    rec = np.zeros((9_000, 2), dtype=np.int64)
    rng = np.random.default_rng(2)
    rec[:, 0] = (rng.integers(0, 8, len(rec)) << 10) | rng.integers(0, 1024, len(rec))
    rec[:, 1] = np.arange(len(rec))
    radix.sort_records(rec, np.empty_like(rec), 10, 13, 2)
    top = rec[:, 0] >> 10
    assert (np.diff(top) >= 0).all()
    for t in range(8):  # within one top value, the input order
        assert (np.diff(rec[top == t, 1]) > 0).all()
