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

# The words the kernel writes per claim: the four fund amounts, the person's part, and the
# hospital's part with the group used (its DEFAULT_ORDER index + 1, 0 none) in the low byte.
# The fund total is their sum; six words keep a claim's results as wide as its input record.
O_HIFP, O_HIFMI, O_MAF, O_OTH, O_PSN, O_HOSP_GROUP = range(6)
N_OUT = 6
O_HOSP_SHIFT, O_GROUP_MASK = 8, 0xFF

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


# Memo of one run of claims (a chunk of person-years, or one online claim): the groups resolved
# for the last (mask, version), and for each of tiers 2-4 the last F(x) computed (schedule, x,
# F(x)). Each claim's F(prev) is the previous claim's F(cum) of the same person-year, so the memo
# halves the schedule walks; it is keyed on the values, so a stale entry is never used.
M_MASK, M_VERSION, M_USED, M_TILT, M_ASSIST, M_REASSIST = range(6)
M_F2, M_F3, M_F4 = 6, 9, 12
N_MEMO = 15


@nb.njit(cache=True)
def new_memo():
    memo = np.empty(N_MEMO, dtype=np.int64)
    memo[M_MASK] = -1  # no mask is negative: the first claim resolves its groups
    for slot in (M_F2, M_F3, M_F4):
        memo[slot] = -1  # no schedule is -1
    return memo


@nb.njit(cache=True, inline="always")
def _resolve_all(m, v, basic, ord_bits, ord_sched, ord_len, memo):
    """The four group lookups of a claim, done again only when its (mask, version) changes."""
    if memo[M_MASK] != m or memo[M_VERSION] != v:
        memo[M_MASK] = m
        memo[M_VERSION] = v
        memo[M_USED] = resolve(m, v, ORD_GROUP_USED, ord_bits, ord_sched, ord_len)
        s = resolve(m, v, ORD_TILT, ord_bits, ord_sched, ord_len)
        memo[M_TILT] = basic[v, B_T2_DEFAULT] if s < 0 else s
        memo[M_ASSIST] = resolve(m, v, ORD_ASSIST, ord_bits, ord_sched, ord_len)
        memo[M_REASSIST] = resolve(m, v, ORD_REASSIST, ord_bits, ord_sched, ord_len)


@nb.njit(cache=True, inline="always")
def _increment_memo(prev, cum, paid, s, s_ded, s_nb, s_hi, s_ratio, s_cap, memo, slot):
    """`increment`, taking F(prev) from the memo when the last F computed was F(prev)."""
    if memo[slot] == s and memo[slot + 1] == prev:
        f_prev = memo[slot + 2]
    else:
        f_prev = schedule_pay(prev, s, s_ded, s_nb, s_hi, s_ratio)
    f_cum = f_prev if cum == prev else schedule_pay(cum, s, s_ded, s_nb, s_hi, s_ratio)
    memo[slot] = s
    memo[slot + 1] = cum
    memo[slot + 2] = f_cum
    pay = f_cum - f_prev
    if s_cap[s] != NO_CAP:
        room = s_cap[s] - paid
        if pay > room:
            pay = room
    if pay < 0:
        pay = 0
    return pay


@nb.njit(cache=True, inline="always")
def settle_claim_at(
    i, a, v, kind, lv, inprov, referral, x, medfee, fulamt, m,
    basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched, ord_len,
    acc, out, memo,
):
    """RULES §3 for one claim: writes out[i] and adds the claim to person-year `a` of `acc`.

    out columns: the O_* words (decode_out gives OUT_COLUMNS from them).
    """
    _resolve_all(m, v, basic, ord_bits, ord_sched, ord_len, memo)
    used = memo[M_USED] + 1
    if kind == OUTPATIENT:
        hifp = mul_ratio(x, basic[v, B_R11])
        room = basic[v, B_CAP11] - acc[a, ACC_PAID11]
        hifp = min(hifp, max(room, 0))
        acc[a, ACC_PAID11] += hifp
        out[i, O_HIFP] = hifp
        out[i, O_HIFMI] = 0
        out[i, O_MAF] = 0
        out[i, O_OTH] = 0
        out[i, O_PSN] = medfee - hifp
        out[i, O_HOSP_GROUP] = used
        return
    # Tier 1: basic insurance; inpatient deductible per admission, one annual cap with 14.
    if kind == INPATIENT:
        raw = mul_ratio(max(x - ded_lv[v, lv], 0), r_lv[v, lv])
    else:
        raw = mul_ratio(max(x - basic[v, B_D14], 0), basic[v, B_R14])
    hifp = min(raw, max(basic[v, B_CAP1] - acc[a, ACC_PAID1], 0))
    acc[a, ACC_PAID1] += hifp
    # Tier 2: critical illness on the cumulative base inscp - hifp, tilted for named groups.
    base = x - hifp
    prev = acc[a, ACC_CUM2]
    acc[a, ACC_CUM2] = prev + base
    hifmi = _increment_memo(
        prev, prev + base, acc[a, ACC_PAID2], memo[M_TILT], s_ded, s_nb, s_hi, s_ratio, s_cap, memo, M_F2
    )
    acc[a, ACC_PAID2] += hifmi
    # Tier 3: medical assistance on what remains, per the person's assistance group.
    base -= hifmi
    prev = acc[a, ACC_CUM3]
    acc[a, ACC_CUM3] = prev + base
    maf = 0
    s = memo[M_ASSIST]
    if s >= 0:
        maf = _increment_memo(
            prev, prev + base, acc[a, ACC_PAID3], s, s_ded, s_nb, s_hi, s_ratio, s_cap, memo, M_F3
        )
        acc[a, ACC_PAID3] += maf
    # Tier 4: tilted re-assistance, only for claims meeting the pack's conditions.
    base -= maf
    oth = 0
    ok = (basic[v, B_T4_INPROV] == 0 or inprov != 0) and (basic[v, B_T4_REFERRAL] == 0 or referral != 0)
    if ok:
        prev = acc[a, ACC_CUM4]
        acc[a, ACC_CUM4] = prev + base
        s = memo[M_REASSIST]
        if s >= 0:
            oth = _increment_memo(
                prev, prev + base, acc[a, ACC_PAID4], s, s_ded, s_nb, s_hi, s_ratio, s_cap, memo, M_F4
            )
            acc[a, ACC_PAID4] += oth
    # Out-of-catalogue control: the hospital bears own-pay items above the limit.
    hosp = 0
    if kind == INPATIENT and (m & basic[v, B_OOC_MASK]) != 0:
        hosp = max(0, fulamt - mul_ratio(medfee, ooc_limit[v, lv]))
    out[i, O_HIFP] = hifp
    out[i, O_HIFMI] = hifmi
    out[i, O_MAF] = maf
    out[i, O_OTH] = oth
    out[i, O_PSN] = medfee - (hifp + hifmi + maf + oth) - hosp
    out[i, O_HOSP_GROUP] = (hosp << O_HOSP_SHIFT) | used


@nb.njit(cache=True)
def settle_range(
    lo_i, hi_i, seg_of, version, cm,
    basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched, ord_len,
    acc, out,
):
    """Settle claims lo_i..hi_i-1 of the claims matrix `cm` (C_* columns, whole person-years in
    settlement order), updating `acc` rows in place. The online claim comes this way."""
    memo = new_memo()
    for i in range(lo_i, hi_i):
        settle_claim_at(
            i, seg_of[i], version[i], cm[i, C_KIND], cm[i, C_LV], cm[i, C_INPROV], cm[i, C_REFERRAL],
            cm[i, C_INSCP], cm[i, C_MEDFEE], cm[i, C_FULAMT], cm[i, C_MASK],
            basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched,
            ord_len, acc, out, memo,
        )


# The batch's claims as records of N_ROW int64 (engine.order sorts them into settlement order and
# owns the first two columns): the three amounts and a word holding the small fields (META_*).
R_INSCP, R_MEDFEE, R_FULAMT, R_META = range(2, 6)
N_ROW = 6
META_LV, META_INPROV, META_REFERRAL, META_VERSION, META_MASK = 2, 5, 6, 8, 32


@nb.njit(cache=True, parallel=True)
def settle_sorted(
    chunk_segs, seg_starts, rows,
    basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits, ord_sched, ord_len,
    acc, out,
):
    """The batch: person-years chunk_segs[c]..chunk_segs[c+1]-1 per chunk, chunks on all cores
    (whole person-years are independent). Claim i of person-year s is settled on acc[s]."""
    n = rows.shape[0]
    n_seg = len(seg_starts)
    for c in nb.prange(len(chunk_segs) - 1):
        memo = new_memo()
        for s in range(chunk_segs[c], chunk_segs[c + 1]):
            end = seg_starts[s + 1] if s + 1 < n_seg else n
            for i in range(seg_starts[s], end):
                meta = rows[i, R_META]
                settle_claim_at(
                    i, s, (meta >> META_VERSION) & 0xFFFF, meta & 3, (meta >> META_LV) & 7,
                    (meta >> META_INPROV) & 1, (meta >> META_REFERRAL) & 1,
                    rows[i, R_INSCP], rows[i, R_MEDFEE], rows[i, R_FULAMT], meta >> META_MASK,
                    basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio, s_cap, ord_bits,
                    ord_sched, ord_len, acc, out, memo,
                )


OUT_COLUMNS = (
    "hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt", "fund_pay_sumamt", "psn_part_amt", "group",
)


def empty_out(n: int) -> np.ndarray:
    return np.empty((n, N_OUT), dtype=np.int64)


def decode_out(row: np.ndarray) -> tuple[dict[str, int], int]:
    """One claim's OUT_COLUMNS amounts (fen) from its O_* words, and the index of the group
    used into DEFAULT_ORDER (-1 none); rows_to_columns does the same for the batch."""
    hifp, hifmi, maf, oth = (int(row[c]) for c in (O_HIFP, O_HIFMI, O_MAF, O_OTH))
    packed = int(row[O_HOSP_GROUP])
    amounts = {
        "hifp_pay": hifp,
        "hifmi_pay": hifmi,
        "maf_pay": maf,
        "oth_pay": oth,
        "hosp_part_amt": packed >> O_HOSP_SHIFT,
        "fund_pay_sumamt": hifp + hifmi + maf + oth,
        "psn_part_amt": int(row[O_PSN]),
    }
    return amounts, (packed & O_GROUP_MASK) - 1


@nb.njit(cache=True, parallel=True)
def scatter_rows(src, perm, dst):
    """dst[perm[i]] = src[i] for rows: results back to input order."""
    for i in nb.prange(len(perm)):
        j = perm[i]
        for c in range(src.shape[1]):
            dst[j, c] = src[i, c]


BLOCK = 4096


@nb.njit(cache=True, nogil=True)
def pack_rows(days, starts, kind, lv, inprov, referral, inscp, medfee, fulamt, rows):
    """rows[i] = claim i as the batch kernel reads it (R_* columns, no groups yet), in input
    order; `starts` are the first days of the policy versions (version_of). One thread: it is
    called once per chunk of the claims' columns, and a parallel launch per chunk cost more
    than the packing. It lets go of Python's lock, so it can run beside other work."""
    n = len(kind)
    n_v = len(starts)
    for i in range(n):
        v = 0
        while v + 1 < n_v and starts[v + 1] <= days[i]:
            v += 1
        rows[i, R_INSCP] = inscp[i]
        rows[i, R_MEDFEE] = medfee[i]
        rows[i, R_FULAMT] = fulamt[i]
        rows[i, R_META] = (
            np.int64(kind[i])
            | (np.int64(lv[i]) << META_LV)
            | (np.int64(inprov[i] != 0) << META_INPROV)
            | (np.int64(referral[i] != 0) << META_REFERRAL)
            | (np.int64(v) << META_VERSION)
        )


@nb.njit(cache=True, parallel=True)
def rows_to_columns(src, dst, psn, group, valid):
    """The batch's O_* rows as OUT_COLUMNS columns, a block of rows at a time (a plain
    transpose thrashes the cache): dst[0..5] the fund amounts, the hospital's part and the fund
    total, `psn` the person's part, `group` the index of the group used (uint32) with its
    validity bits in `valid` (Arrow's layout: a bit a row, lowest bit first)."""
    n = src.shape[0]
    for b in nb.prange((n + BLOCK - 1) // BLOCK):
        lo = b * BLOCK  # BLOCK is a multiple of 8: a block owns whole bytes of `valid`
        hi = min(n, lo + BLOCK)
        for c in (O_HIFP, O_HIFMI, O_MAF, O_OTH):
            for i in range(lo, hi):
                dst[c, i] = src[i, c]
        for i in range(lo, hi):
            dst[4, i] = src[i, O_HOSP_GROUP] >> O_HOSP_SHIFT
            dst[5, i] = src[i, O_HIFP] + src[i, O_HIFMI] + src[i, O_MAF] + src[i, O_OTH]
            psn[i] = src[i, O_PSN]
        for j in range(lo >> 3, (hi + 7) >> 3):
            bits = 0
            for i in range(j << 3, min(hi, (j << 3) + 8)):
                g = (src[i, O_HOSP_GROUP] & O_GROUP_MASK) - 1
                if g >= 0:
                    bits |= 1 << (i & 7)
                    group[i] = g
                else:
                    group[i] = 0
            valid[j] = bits


@nb.njit(cache=True, parallel=True)
def fill_masks(seg_starts, n, days, id_lo, id_hi, id_beg, id_end, id_bit, rows):
    """Adds to rows[i, R_META] the groups of the person's identities active on claim i's date.

    Claims are sorted by person-year; each person-year's identities are rows id_lo..id_hi-1
    (sorted by person), usually none or one or two, so this is one short scan a claim.
    """
    n_seg = len(seg_starts)
    for s in nb.prange(n_seg):
        lo, hi = id_lo[s], id_hi[s]
        if lo == hi:
            continue
        end_i = seg_starts[s + 1] if s + 1 < n_seg else n
        for i in range(seg_starts[s], end_i):
            m = 0
            for r in range(lo, hi):
                if id_beg[r] <= days[i] and days[i] <= id_end[r]:
                    m |= id_bit[r]
            rows[i, R_META] |= m << META_MASK


@nb.njit(cache=True, parallel=True)
def set_masks(masks, perm, rows):
    """Adds masks[perm[i]] (groups per input row) to rows[i, R_META]."""
    for i in nb.prange(len(perm)):
        rows[i, R_META] |= masks[perm[i]] << META_MASK


@nb.njit(cache=True)
def merge_person_rows(seg_top, seg_hash, id_top, id_hash, lo, hi):
    """lo[s]..hi[s]-1: the identity rows whose (top, hash) equal person-year s's, both sides
    sorted by (top, hash) as unsigned numbers: one merging walk instead of a search each."""
    r = 0
    n_id = len(id_top)
    for s in range(len(seg_top)):
        t, h = seg_top[s], seg_hash[s]
        while r < n_id and (id_top[r] < t or (id_top[r] == t and id_hash[r] < h)):
            r += 1
        e = r
        while e < n_id and id_top[e] == t and id_hash[e] == h:
            e += 1
        lo[s] = r
        hi[s] = e
