"""Settling claims: the batch over millions and the single online claim, one kernel for both.

`settle_batch` takes validated claims and identities (tabular.claims), orders each person's
claims by (setl_date, setl_id) within the benefit year, works out the groups active on each
claim's date from the dated identities, runs the kernel over person-years in parallel, and
returns one row per claim in the input order. `settle_claim` is the same path for one claim and
a person's year-to-date accumulators.
"""

from __future__ import annotations

import datetime as dt
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import polars as pl
import pyarrow as pa

from fangpin.engine import kernel as k
from fangpin.engine import order as _order
from fangpin.engine.order import ORDER_COLS, SEED_A, SEED_B, Order, settlement_order
from fangpin.engine.params import EPOCH, Compiled, compile_pack
from fangpin.policy.groups import DEFAULT_ORDER, GROUP_BIT
from fangpin.policy.registry import Pack

RESULT_COLUMNS = k.OUT_COLUMNS
GROUP_ENUM = pl.Enum(list(DEFAULT_ORDER))


@dataclass
class Accumulators:
    """A person's year-to-date amounts (fen) carried from claim to claim (RULES §3)."""

    paid1: int = 0  # basic insurance paid on 14 and 21 (shares cap1)
    paid11: int = 0  # basic insurance paid on general outpatient
    cum2: int = 0  # critical-illness base so far
    paid2: int = 0
    cum3: int = 0  # medical-assistance base so far
    paid3: int = 0
    cum4: int = 0  # tilted re-assistance base so far (qualifying claims only)
    paid4: int = 0

    def as_array(self) -> np.ndarray:
        return np.array([getattr(self, n) for n in k.ACC_NAMES], dtype=np.int64)

    @classmethod
    def from_array(cls, row: np.ndarray) -> Accumulators:
        return cls(**{n: int(row[i]) for i, n in enumerate(k.ACC_NAMES)})


class BatchResult:
    """Settled claims (input order: the claim columns, the results, group) and, built on first
    use, each person-year's accumulators after its last claim (psn_no, year, ACC_NAMES)."""

    def __init__(
        self, claims: pl.DataFrame, acc: np.ndarray, seg_rows: np.ndarray, seg_year: np.ndarray
    ):
        self.claims = claims
        self._acc, self._seg_rows, self._seg_year = acc, seg_rows, seg_year
        self._frame: pl.DataFrame | None = None

    @property
    def accumulators(self) -> pl.DataFrame:
        if self._frame is None:
            self._frame = pl.DataFrame(
                {"psn_no": self.claims["psn_no"].gather(self._seg_rows), "year": self._seg_year}
                | {name: self._acc[:, i] for i, name in enumerate(k.ACC_NAMES)}
            )
        return self._frame


_compiled_cache: dict[tuple[str, str], Compiled] = {}


def compiled(pack: Pack) -> Compiled:
    key = (pack.id, pack.file)
    if key not in _compiled_cache:
        _compiled_cache[key] = compile_pack(pack)
    return _compiled_cache[key]


def group_masks(claims: pl.DataFrame, identities: pl.DataFrame) -> np.ndarray:
    """Per claim, the bits of the groups whose identities are active on its setl_date."""
    n = claims.height
    masks = np.zeros(n, dtype=np.int64)
    if identities.height == 0 or n == 0:
        return masks
    # Joined on the person number's hash (cheap); the text is compared on the matches only.
    ids = identities.select(
        pl.col("psn_no").hash(seed=SEED_A).alias("h"),
        pl.col("psn_no").alias("p_id"),
        "group_bit",
        "begndate",
        "enddate",
    )
    hits = (
        claims.select(
            pl.int_range(n, dtype=pl.UInt32).alias("_i"),
            pl.col("psn_no").hash(seed=SEED_A).alias("h"),
            "psn_no",
            "setl_date",
        )
        .join(ids, on="h", how="inner")
        .filter(
            (pl.col("psn_no") == pl.col("p_id"))
            & (pl.col("begndate") <= pl.col("setl_date"))
            & (pl.col("enddate").is_null() | (pl.col("setl_date") <= pl.col("enddate")))
        )
        .group_by("_i")
        .agg(pl.col("group_bit").unique().sum())
    )
    masks[hits["_i"].to_numpy()] = hits["group_bit"].to_numpy()
    return masks


def _chunks(seg_starts: np.ndarray, n: int) -> np.ndarray:
    """Bounds of runs of person-years (indices into seg_starts) of about equal claim counts,
    a few per core for balance."""
    n_seg = len(seg_starts)
    parts = max(1, min(n_seg, 8 * (os.cpu_count() or 1)))
    targets = (np.arange(1, parts) * n) // parts
    idx = np.searchsorted(seg_starts, targets)
    return np.unique(np.concatenate([[0], idx, [n_seg]])).astype(np.int64)


# The dtype each kernel input column is handed over in: numba compiles (and caches) one version
# of a function per argument type, so every caller must pass the same types (and read-only
# arrays, since Polars hands out read-only or writeable ones depending on chunking).
_KERNEL_DTYPES = {
    "kind": pl.Int8,
    "hosp_lv": pl.Int16,
    "in_province": pl.Int16,
    "referral": pl.Int16,
    "inscp_scp_amt": pl.Int64,
    "medfee_sumamt": pl.Int64,
    "fulamt_ownpay_amt": pl.Int64,
}


def readonly(a: np.ndarray) -> np.ndarray:
    v = a.view()
    v.flags.writeable = False
    return v


def _pieces(columns: list[pl.Series]) -> list[tuple[int, int]]:
    """Row ranges each lying inside one chunk of every column: a range of a column is then a
    view of its memory, where the whole column would first be copied into one chunk. Columns in
    many small chunks give one range (copied once): a call per range has its own cost."""
    n = len(columns[0])
    bounds = {0, n}
    for s in columns:
        bounds.update(np.cumsum(s.chunk_lengths()).tolist())
    b = sorted(bounds)
    if len(b) - 1 > max(1, n >> 16):  # fewer than 64 Ki rows a range on average
        return [(0, n)] if n else []
    return list(zip(b[:-1], b[1:], strict=True))


def _input_rows(
    claims: pl.DataFrame, days: np.ndarray, comp: Compiled, buf: np.ndarray
) -> np.ndarray:
    """The kernel's input records in input order (R_* columns; the groups are added later),
    in the first part of `buf`, packed a chunk of the claims' columns at a time."""
    rows = buf[: claims.height * k.N_ROW].reshape(claims.height, k.N_ROW)
    columns = [claims[c].cast(dtype) for c, dtype in _KERNEL_DTYPES.items()]
    starts = readonly(comp.starts)
    for lo, hi in _pieces(columns):
        views = (readonly(c.slice(lo, hi - lo).to_numpy()) for c in columns)
        k.pack_rows(readonly(days[lo:hi]), starts, *views, rows[lo:hi])
    return rows


_OPEN_END = np.iinfo(np.int32).max
assert max(GROUP_BIT.values()) < 1 << 31  # the groups fit the top half of a row's META word
assert k.R_INSCP >= ORDER_COLS  # the order's own columns come first


def _fill_masks(
    claims: pl.DataFrame, identities: pl.DataFrame, order: Order, rows: np.ndarray
) -> None:
    """Groups active on each claim's date, from the person's dated identities (RULES §1)."""
    if identities.height == 0 or claims.height == 0:
        return
    ids = identities.select(
        pl.Series("h", _order.person_hash(identities["psn_no"], SEED_B)),
        "psn_no",
        "group_bit",
        pl.col("begndate").cast(pl.Int32).alias("b"),
        pl.col("enddate").cast(pl.Int32).fill_null(_OPEN_END).alias("e"),
    )
    if order.top_shift:
        # People come in order of (top of the first hash, second hash): merge with the
        # identities sorted the same way.
        first = _order.person_hash(identities["psn_no"], SEED_A)
        ids = ids.with_columns(
            pl.Series("a", order.top_hash(first)), pl.Series("f", first.view(np.int64))
        ).sort("a", "h")
        seg_t, seg_h = order.people_at(order.seg_starts)
        lo = np.empty(len(seg_h), dtype=np.int64)
        hi = np.empty(len(seg_h), dtype=np.int64)
        k.merge_person_rows(seg_t, seg_h, ids["a"].to_numpy(), ids["h"].to_numpy(), lo, hi)
    else:
        seg_h = order.person_hash[order.seg_starts]
        ids = ids.sort("h")
        id_h = ids["h"].to_numpy()
        lo = np.searchsorted(id_h, seg_h, side="left")
        hi = np.searchsorted(id_h, seg_h, side="right")
    # The rows found must be the person's own: the person numbers agree on the whole of both
    # hashes (128 bits; the merge matched the second and the first's top bits), or, without
    # the first hash, on the text itself.
    counts = hi - lo
    segs = np.repeat(np.arange(len(lo)), counts)
    rows_of = np.repeat(lo - np.cumsum(counts) + counts, counts) + np.arange(counts.sum())
    seg_rows = order.perm[order.seg_starts[segs]]
    if order.top_shift and order.first_hash is not None:
        same = np.array_equal(order.first_hash[seg_rows], ids["f"].to_numpy()[rows_of])
    else:
        same = bool((claims["psn_no"].gather(seg_rows) == ids["psn_no"].gather(rows_of)).all())
    if not same:
        masks = group_masks(claims, identities)
        k.set_masks(readonly(masks), readonly(order.perm), rows)
        return
    k.fill_masks(
        readonly(order.seg_starts),
        claims.height,
        readonly(order.days),
        readonly(lo),
        readonly(hi),
        *(readonly(ids[c].cast(pl.Int64).to_numpy()) for c in ("b", "e", "group_bit")),
        rows,
    )


def settle_batch(
    pack: Pack,
    claims: pl.DataFrame,
    identities: pl.DataFrame,
    *,
    initial: dict[tuple[str, int], Accumulators] | None = None,
    timings: dict[str, float] | None = None,
) -> BatchResult:
    """Settle validated claims; `initial` gives year-to-date accumulators per (psn_no, year).

    `timings`, when given, receives the seconds spent in each stage (for benchmarks).
    """
    clock = _Clock(timings)
    comp = compiled(pack)
    n = claims.height
    days = readonly(claims["setl_date"].cast(pl.Int32).to_numpy())
    # Two buffers serve every stage (fresh memory costs a page fault per page): the records and
    # the sort's scratch, then the kernel's results and the same in input order, and last the
    # result columns (which the returned frame keeps).
    width = max(k.N_ROW, k.N_OUT)
    buf_a, buf_b = np.empty(n * width, dtype=np.int64), np.empty(n * width, dtype=np.int64)
    # The records are packed on a thread while Polars hashes the person numbers.
    with ThreadPoolExecutor(max_workers=1) as pool:
        packing = pool.submit(_input_rows, claims, days, comp, buf_a)
        hashes = _order.person_hashes(claims["psn_no"]) if n else None
        rows = packing.result()
    # The records are sorted whole: the kernel then reads them in order, without a gather.
    order = settlement_order(claims["psn_no"], days, claims["setl_id"], rows, buf_b, hashes=hashes)
    perm = order.perm
    clock.lap("order")
    _fill_masks(claims, identities, order, rows)
    clock.lap("groups")
    acc = np.zeros((len(order.seg_starts), k.N_ACC), dtype=np.int64)
    seg_year = order.seg_years
    seg_rows = perm[order.seg_starts]  # the input row of each person-year's first claim
    if initial:
        seg_psn = claims["psn_no"].gather(seg_rows)
        for s, (p, y) in enumerate(zip(seg_psn.to_list(), seg_year.tolist(), strict=True)):
            if (p, y) in initial:
                acc[s] = initial[(p, y)].as_array()
    out = buf_b[: n * k.N_OUT].reshape(n, k.N_OUT)
    chunks = _chunks(order.seg_starts, n)
    clock.lap("accumulators")
    k.settle_sorted(chunks, readonly(order.seg_starts), rows, *comp.kernel_tables(), acc, out)
    clock.lap("kernel")
    back = buf_a[: out.size].reshape(out.shape)  # the records are spent
    k.scatter_rows(out, readonly(perm), back)
    cols = buf_b[: n * 6].reshape(6, n)  # the results in order are spent
    psn = np.empty(n, dtype=np.int64)
    group = np.empty(n, dtype=np.uint32)
    valid = np.empty((n + 7) >> 3, dtype=np.uint8)
    k.rows_to_columns(back, cols, psn, group, valid)
    del buf_a, rows, back, order
    frame = _result_frame(claims, [*cols, psn], group, valid)
    clock.lap("assemble")
    return BatchResult(frame, acc, seg_rows, seg_year)


class _Clock:
    def __init__(self, sink: dict[str, float] | None):
        self.sink, self.t = sink, time.perf_counter()

    def lap(self, name: str) -> None:
        if self.sink is not None:
            now = time.perf_counter()
            self.sink[name] = self.sink.get(name, 0.0) + now - self.t
            self.t = now


_GROUP_NAMES = pl.Series(list(DEFAULT_ORDER), dtype=GROUP_ENUM)


def _result_frame(
    claims: pl.DataFrame, cols: list[np.ndarray], group: np.ndarray, valid: np.ndarray
) -> pl.DataFrame:
    """The claims with their results: `cols` holds one input-order array per amount of
    OUT_COLUMNS, `group` the index of the group used into DEFAULT_ORDER where the bit of
    `valid` is set (rows_to_columns)."""
    n = len(group)
    index = pl.from_arrow(
        pa.Array.from_buffers(pa.uint32(), n, [pa.py_buffer(valid), pa.py_buffer(group)])
    )
    return claims.with_columns(
        *(pl.Series(name, cols[j]) for j, name in enumerate(k.OUT_COLUMNS[:-1])),
        _GROUP_NAMES.gather(index).alias("group")
        if n
        else pl.Series("group", [], dtype=GROUP_ENUM),
    )


def settle_claim(
    pack: Pack,
    claim: pl.DataFrame,
    identities: pl.DataFrame,
    accumulators: Accumulators | None = None,
) -> tuple[pl.DataFrame, Accumulators]:
    """One validated claim (a one-row frame) given the person's year-to-date accumulators.

    Returns the settled row and the person-year's accumulators after it. The online API and the
    monthly batch both end in the same kernel, so they cannot disagree.
    """
    if claim.height != 1:
        raise ValueError("settle_claim takes exactly one claim")
    c = claim.row(0, named=True)
    date = c["setl_date"]
    mine = identities.filter(
        (pl.col("psn_no") == c["psn_no"])
        & (pl.col("begndate") <= date)
        & (pl.col("enddate").is_null() | (pl.col("enddate") >= date))
    )
    mask = 0
    for bit in mine["group_bit"].unique().to_list():
        mask |= int(bit)
    one = settle_one(
        pack,
        kind=c["kind"],
        hosp_lv=c["hosp_lv"],
        in_province=c["in_province"],
        referral=c["referral"],
        inscp=c["inscp_scp_amt"],
        medfee=c["medfee_sumamt"],
        fulamt=c["fulamt_ownpay_amt"],
        setl_date=date,
        group_mask=mask,
        accumulators=accumulators,
    )
    row = claim.with_columns(
        *(pl.lit(one.amounts[name], pl.Int64).alias(name) for name in k.OUT_COLUMNS[:-1]),
        pl.lit(one.group, GROUP_ENUM).alias("group"),
    )
    return row, one.after


@dataclass
class OneSettled:
    """One claim's results (fen, by OUT_COLUMNS name), its group used, the accumulators after."""

    amounts: dict[str, int]
    group: str | None
    after: Accumulators


_ONE_SEG = np.zeros(1, dtype=np.int64)


def settle_one(
    pack: Pack,
    *,
    kind: int,
    hosp_lv: int,
    in_province: int | bool,
    referral: int | bool,
    inscp: int,
    medfee: int,
    fulamt: int,
    setl_date: dt.date,
    group_mask: int,
    accumulators: Accumulators | None = None,
) -> OneSettled:
    """The online claim: one row straight into the kernel's `settle_range`, the very function
    the batch runs per person-year, without building frames (a frame costs milliseconds, the
    kernel microseconds). `group_mask` holds the bits of the groups active on setl_date."""
    comp = compiled(pack)
    version = comp.version_of(np.array([(setl_date - EPOCH).days], dtype=np.int64))
    cm = np.array(
        [[kind, hosp_lv, int(in_province), int(referral), inscp, medfee, fulamt, group_mask]],
        dtype=np.int64,
    )
    acc = (accumulators or Accumulators()).as_array().reshape(1, k.N_ACC)
    out = k.empty_out(1)
    k.settle_range(0, 1, _ONE_SEG, version, cm, *comp.kernel_tables(), acc, out)
    amounts, g = k.decode_out(out[0])
    return OneSettled(
        amounts,
        DEFAULT_ORDER[g] if g >= 0 else None,
        Accumulators.from_array(acc[0]),
    )


def benefit_year(date: dt.date) -> int:
    return date.year


__all__ = [
    "Accumulators",
    "BatchResult",
    "EPOCH",
    "OneSettled",
    "settle_batch",
    "settle_claim",
    "settle_one",
    "group_masks",
]
