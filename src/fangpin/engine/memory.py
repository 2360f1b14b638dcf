"""Large working arrays on ordinary 4 KiB pages.

NumPy advises the kernel to back every array of 4 MiB or more with transparent huge pages. Where
memory is fresh to the process, and above all on a virtual machine whose host hands its pages
over on first touch, faulting in 2 MiB pages measured several times dearer than 4 KiB ones: at
10 M claims the ordering stage spent 2.1 CPU-s in the kernel with huge pages and 0.5 without,
and 1 GiB of fresh memory took 1.3-2.4 s against 0.4 s. The batch's passes over these arrays
stream or scatter into cache-sized buckets, so the huge pages' fewer TLB misses bought nothing
measurable (user time unchanged). Anonymous mmap memory is not advised (with the usual
`madvise` setting of transparent huge pages), so it comes in ordinary pages, already zeroed.
"""

from __future__ import annotations

import mmap

import numpy as np
import numpy.typing as npt

SMALL = 1 << 22  # below NumPy's own huge-page threshold: an ordinary array


def empty(shape: int | tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    """A writeable, C-contiguous array on ordinary pages; zero-filled when large (mmap memory
    is), uninitialised when small, like np.empty."""
    dt = np.dtype(dtype)
    count = int(np.prod(shape))
    if count * dt.itemsize < SMALL:
        return np.empty(shape, dtype=dt)
    # The array holds the map; it is unmapped when the array and its views are gone.
    return np.frombuffer(mmap.mmap(-1, count * dt.itemsize), dtype=dt, count=count).reshape(shape)


def zeros(shape: int | tuple[int, ...], dtype: npt.DTypeLike) -> np.ndarray:
    dt = np.dtype(dtype)
    if int(np.prod(shape)) * dt.itemsize < SMALL:
        return np.zeros(shape, dtype=dt)
    return empty(shape, dt)  # fresh anonymous memory reads as zeros
