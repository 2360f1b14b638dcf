"""The settlement kernel: the three tiers (and tier 4, hospital-borne excess) claim by claim.

This is the one source of truth for RULES.md §3. It walks claims sorted by person, year,
settlement date and setl_id, carrying each person-year's accumulators, and applies the
increment rule

    pay_i = clamp(F(cum_i) - F(cum_{i-1}), 0, L - paid_{i-1})

for tiers 2-4. It is compiled with numba; the same code runs for one online claim (arrays of
length one and the person's year-to-date accumulators) and for a batch of millions.

All amounts are integer fen, ratios integers over RATIO_ONE, rounding half-up.
"""

from __future__ import annotations

import numba as nb
import numpy as np

from fangpin.units import RATIO_ONE

HALF = RATIO_ONE // 2

# Claim kinds (med_type 11 / 14 / 21, with 23, 24, 52 treated as 21).
OUTPATIENT, CHRONIC, INPATIENT = 0, 1, 2

# Accumulator columns of one person-year.
ACC_PAID1, ACC_PAID11, ACC_CUM2, ACC_PAID2, ACC_CUM3, ACC_PAID3, ACC_CUM4, ACC_PAID4 = range(8)
N_ACC = 8
ACC_NAMES = ("paid1", "paid11", "cum2", "paid2", "cum3", "paid3", "cum4", "paid4")

# Order tables: which list of groups decides what (RULES §1: each rule's own ordered list).
ORD_GROUP_USED, ORD_TILT, ORD_ASSIST, ORD_REASSIST = range(4)

# Columns of the per-version basic-insurance table.
B_D14, B_R14, B_CAP1, B_R11, B_CAP11, B_T4_INPROV, B_T4_REFERRAL, B_OOC_MASK, B_T2_DEFAULT = range(9)
N_BASIC = 9

NO_CAP = -1

# Columns of the claims matrix the kernel reads, one row per claim (a cache line each).
C_KIND, C_LV, C_INPROV, C_REFERRAL, C_INSCP, C_MEDFEE, C_FULAMT, C_MASK = range(8)
N_CLAIM_COLS = 8


@nb.njit(cache=True, inline="always")
def mul_ratio(amount, ratio):
    return (amount * ratio + HALF) // RATIO_ONE


@nb.njit(cache=True)
def schedule_pay(x, s, s_ded, s_nb, s_hi, s_ratio):
    """F(x) of schedule s: bands measured above the deductible, one rounding at the end."""
    above = x - s_ded[s]
    total = 0
    lo = 0
    for b in range(s_nb[s]):
        hi = s_hi[s, b]
        top = above if hi == NO_CAP or above < hi else hi
        if top > lo:
            total += (top - lo) * s_ratio[s, b]
        if hi == NO_CAP or above <= hi:
            break
        lo = hi
    return (total + HALF) // RATIO_ONE


@nb.njit(cache=True)
def increment(prev, cum, paid, s, s_ded, s_nb, s_hi, s_ratio, s_cap):
    """The increment rule for one tier and claim."""
    pay = schedule_pay(cum, s, s_ded, s_nb, s_hi, s_ratio) - schedule_pay(prev, s, s_ded, s_nb, s_hi, s_ratio)
    if s_cap[s] != NO_CAP:
        room = s_cap[s] - paid
        if pay > room:
            pay = room
    if pay < 0:
        pay = 0
    return pay


@nb.njit(cache=True)
def resolve(mask, v, which, ord_bits, ord_sched, ord_len):
    """The first entry of list `which` whose group is in `mask` (its schedule), or -1."""
    if mask == 0:
        return -1
    for k in range(ord_len[v, which]):
        if mask & ord_bits[v, which, k]:
            return ord_sched[v, which, k]
    return -1


@nb.njit(cache=True)
def settle_range(
    lo_i, hi_i, seg_of, version, cm,
    basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched, ord_len,
    acc, out,
):
    """Settle claims lo_i..hi_i-1 (whole person-years), updating `acc` rows in place.

    out columns: see OUT_COLUMNS; the group used is an index into DEFAULT_ORDER (-1 none).
    """
    for i in range(lo_i, hi_i):
        a = seg_of[i]
        v = version[i]
        m = cm[i, C_MASK]
        x = cm[i, C_INSCP]
        kind = cm[i, C_KIND]
        lv = cm[i, C_LV]
        medfee = cm[i, C_MEDFEE]
        out[i, 7] = resolve(m, v, ORD_GROUP_USED, ord_bits, ord_sched, ord_len)
        if kind == OUTPATIENT:
            hifp = mul_ratio(x, basic[v, B_R11])
            room = basic[v, B_CAP11] - acc[a, ACC_PAID11]
            hifp = min(hifp, max(room, 0))
            acc[a, ACC_PAID11] += hifp
            out[i, 0] = hifp
            out[i, 1] = 0
            out[i, 2] = 0
            out[i, 3] = 0
            out[i, 4] = 0
            out[i, 5] = hifp
            out[i, 6] = medfee - hifp
            continue
        # Tier 1: basic insurance; inpatient deductible per admission, one annual cap with 14.
        if kind == INPATIENT:
            raw = mul_ratio(max(x - ded_lv[v, lv], 0), r_lv[v, lv])
        else:
            raw = mul_ratio(max(x - basic[v, B_D14], 0), basic[v, B_R14])
        hifp = min(raw, max(basic[v, B_CAP1] - acc[a, ACC_PAID1], 0))
        acc[a, ACC_PAID1] += hifp
        # Tier 2: critical illness on the cumulative base inscp - hifp, tilted for named groups.
        s = resolve(m, v, ORD_TILT, ord_bits, ord_sched, ord_len)
        if s < 0:
            s = basic[v, B_T2_DEFAULT]
        base = x - hifp
        prev = acc[a, ACC_CUM2]
        acc[a, ACC_CUM2] = prev + base
        hifmi = increment(prev, prev + base, acc[a, ACC_PAID2], s, s_ded, s_nb, s_hi, s_ratio, s_cap)
        acc[a, ACC_PAID2] += hifmi
        # Tier 3: medical assistance on what remains, per the person's assistance group.
        base -= hifmi
        prev = acc[a, ACC_CUM3]
        acc[a, ACC_CUM3] = prev + base
        maf = 0
        s = resolve(m, v, ORD_ASSIST, ord_bits, ord_sched, ord_len)
        if s >= 0:
            maf = increment(prev, prev + base, acc[a, ACC_PAID3], s, s_ded, s_nb, s_hi, s_ratio, s_cap)
            acc[a, ACC_PAID3] += maf
        # Tier 4: tilted re-assistance, only for claims meeting the pack's conditions.
        base -= maf
        oth = 0
        ok = (basic[v, B_T4_INPROV] == 0 or cm[i, C_INPROV] != 0) and (
            basic[v, B_T4_REFERRAL] == 0 or cm[i, C_REFERRAL] != 0
        )
        if ok:
            prev = acc[a, ACC_CUM4]
            acc[a, ACC_CUM4] = prev + base
            s = resolve(m, v, ORD_REASSIST, ord_bits, ord_sched, ord_len)
            if s >= 0:
                oth = increment(prev, prev + base, acc[a, ACC_PAID4], s, s_ded, s_nb, s_hi, s_ratio, s_cap)
                acc[a, ACC_PAID4] += oth
        # Out-of-catalogue control: the hospital bears own-pay items above the limit.
        hosp = 0
        if kind == INPATIENT and (m & basic[v, B_OOC_MASK]) != 0:
            hosp = max(0, cm[i, C_FULAMT] - mul_ratio(medfee, ooc_limit[v, lv]))
        out[i, 0] = hifp
        out[i, 1] = hifmi
        out[i, 2] = maf
        out[i, 3] = oth
        out[i, 4] = hosp
        out[i, 5] = hifp + hifmi + maf + oth
        out[i, 6] = medfee - out[i, 5] - hosp


@nb.njit(cache=True, parallel=True)
def settle_parallel(
    chunk_bounds, seg_of, version, cm,
    basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched, ord_len,
    acc, out,
):
    """Chunks hold whole person-years, so they are independent and run on all cores."""
    for c in nb.prange(len(chunk_bounds) - 1):
        settle_range(
            chunk_bounds[c], chunk_bounds[c + 1], seg_of, version, cm, basic, ded_lv, r_lv,
            ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched, ord_len, acc, out,
        )


OUT_COLUMNS = (
    "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt", "fund_pay_sumamt", "psn_part_amt", "group",
)


def empty_out(n: int) -> np.ndarray:
    return np.empty((n, len(OUT_COLUMNS)), dtype=np.int64)


@nb.njit(cache=True, parallel=True)
def gather_rows(src, perm, dst):
    """dst[i] = src[perm[i]] for rows of a matrix, on all cores: one cache line a claim."""
    for i in nb.prange(len(perm)):
        j = perm[i]
        for c in range(src.shape[1]):
            dst[i, c] = src[j, c]


@nb.njit(cache=True, parallel=True)
def scatter_rows(src, perm, dst):
    """dst[perm[i]] = src[i] for rows: results back to input order."""
    for i in nb.prange(len(perm)):
        j = perm[i]
        for c in range(src.shape[1]):
            dst[j, c] = src[i, c]


BLOCK = 4096


@nb.njit(cache=True, parallel=True)
def pack_rows(kind, lv, inprov, referral, inscp, medfee, fulamt, dst):
    """Lay the kernel's input columns out as rows, block by block so every stream is sequential."""
    n = len(kind)
    for b in nb.prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        for i in range(lo, hi):
            dst[i, C_KIND] = kind[i]
            dst[i, C_LV] = lv[i]
            dst[i, C_INPROV] = inprov[i]
            dst[i, C_REFERRAL] = referral[i]
            dst[i, C_INSCP] = inscp[i]
            dst[i, C_MEDFEE] = medfee[i]
            dst[i, C_FULAMT] = fulamt[i]
            dst[i, C_MASK] = 0


@nb.njit(cache=True, parallel=True)
def rows_to_columns(src, dst):
    """dst[c, i] = src[i, c], a block of rows at a time (a plain transpose thrashes the cache)."""
    n = src.shape[0]
    for b in nb.prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK
        hi = min(n, lo + BLOCK)
        for c in range(src.shape[1]):
            for i in range(lo, hi):
                dst[c, i] = src[i, c]


@nb.njit(cache=True, parallel=True)
def fill_masks(seg_starts, n, days, id_lo, id_hi, id_beg, id_end, id_bit, cm):
    """cm[i, C_MASK] = the groups of the person's identities active on claim i's date.

    Claims are sorted by person-year; each person-year's identities are rows id_lo..id_hi-1
    (sorted by person), usually none or one or two, so this is one short scan a claim.
    """
    n_seg = len(seg_starts)
    for s in nb.prange(n_seg):
        lo, hi = id_lo[s], id_hi[s]
        end_i = seg_starts[s + 1] if s + 1 < n_seg else n
        for i in range(seg_starts[s], end_i):
            m = 0
            for r in range(lo, hi):
                if id_beg[r] <= days[i] and days[i] <= id_end[r]:
                    m |= id_bit[r]
            cm[i, C_MASK] = m
