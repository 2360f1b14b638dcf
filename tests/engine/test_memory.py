"""Working arrays on ordinary pages behave as NumPy's own: shape, dtype, zeros, writes, views."""

import numpy as np

from fangpin.engine import memory


def test_large_arrays_are_mapped_zeroed_and_writeable():
    a = memory.empty((1 << 20, 6), np.int64)  # 48 MiB: above the small-array threshold
    assert a.shape == (1 << 20, 6) and a.dtype == np.int64 and a.flags.c_contiguous
    assert a.flags.writeable and not a.flags.owndata  # the map owns the memory
    assert not a.any()
    a[:, 2] = np.arange(1 << 20)
    view = a[10:20]
    del a
    assert view[:, 2].tolist() == list(range(10, 20))  # a view keeps the map alive
    z = memory.zeros(1 << 23, np.int32)
    assert z.shape == (1 << 23,) and z.dtype == np.int32 and not z.any()


def test_small_and_empty_arrays_are_ordinary():
    s = memory.zeros((3, 8), np.int64)
    assert s.flags.owndata and s.shape == (3, 8) and not s.any()
    assert memory.empty(5, np.int8).shape == (5,)
    assert memory.empty((0, 6), np.int64).shape == (0, 6)
    assert memory.zeros(0, np.uint64).dtype == np.uint64
