"""A pack's policy versions compiled into the arrays the kernel reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np

from fangpin.engine import kernel as k
from fangpin.policy.groups import DEFAULT_ORDER, GROUP_BIT, groups_mask
from fangpin.policy.registry import Pack
from fangpin.policy.schema import Policy, Schedule

EPOCH = dt.date(1970, 1, 1)


@dataclass
class Compiled:
    """Everything the kernel needs about the policy; index 0 of each table is version 0."""

    starts: np.ndarray  # int32 days since epoch of each version's first day (version 0 = -inf)
    policies: list[Policy]
    schedules: list[Schedule]
    basic: np.ndarray
    ded_lv: np.ndarray
    r_lv: np.ndarray
    ooc_limit: np.ndarray
    s_ded: np.ndarray
    s_nb: np.ndarray
    s_hi: np.ndarray
    s_ratio: np.ndarray
    s_cap: np.ndarray
    ord_bits: np.ndarray
    ord_sched: np.ndarray
    ord_len: np.ndarray

    def version_of(self, days: np.ndarray) -> np.ndarray:
        """The version index in force on each date (days since epoch)."""
        return (np.searchsorted(self.starts, days, side="right") - 1).clip(0).astype(np.int16)

    def kernel_tables(self) -> tuple:
        return (
            self.basic, self.ded_lv, self.r_lv, self.ooc_limit, self.s_ded, self.s_nb, self.s_hi,
            self.s_ratio, self.s_cap, self.ord_bits, self.ord_sched, self.ord_len,
        )


def compile_pack(pack: Pack) -> Compiled:
    versions = pack.versions()
    policies = [p for _, p in versions]
    starts = np.array([np.iinfo(np.int32).min] + [(d - EPOCH).days for d, _ in versions[1:]], dtype=np.int64)
    schedules: list[Schedule] = []

    def add(s: Schedule) -> int:
        schedules.append(s)
        return len(schedules) - 1

    nv, ng = len(policies), len(DEFAULT_ORDER)
    basic = np.zeros((nv, k.N_BASIC), dtype=np.int64)
    ded_lv = np.zeros((nv, 5), dtype=np.int64)
    r_lv = np.zeros((nv, 5), dtype=np.int64)
    ooc_limit = np.zeros((nv, 5), dtype=np.int64)
    ord_bits = np.zeros((nv, 4, ng), dtype=np.int64)
    ord_sched = np.full((nv, 4, ng), -1, dtype=np.int64)
    ord_len = np.zeros((nv, 4), dtype=np.int64)

    def set_order(v: int, which: int, entries: list[tuple[str, int]]) -> None:
        for j, (group, sched) in enumerate(entries):
            ord_bits[v, which, j] = GROUP_BIT[group]
            ord_sched[v, which, j] = sched
        ord_len[v, which] = len(entries)

    for v, pol in enumerate(policies):
        b = pol.basic
        for lv in (1, 2, 3, 4):
            ded_lv[v, lv] = b.inpatient_deductible[lv]
            r_lv[v, lv] = b.inpatient_ratio[lv]
        basic[v, k.B_D14] = b.chronic_deductible
        basic[v, k.B_R14] = b.chronic_ratio
        basic[v, k.B_CAP1] = b.annual_cap
        basic[v, k.B_R11] = b.outpatient_ratio
        basic[v, k.B_CAP11] = b.outpatient_cap
        basic[v, k.B_T2_DEFAULT] = add(pol.critical.schedule)
        set_order(v, k.ORD_GROUP_USED, [(g, DEFAULT_ORDER.index(g)) for g in pol.groups_order])
        if pol.critical.tilt:
            tilt = add(pol.critical.tilt.schedule)
            set_order(v, k.ORD_TILT, [(g, tilt) for g in pol.critical.tilt.groups])
        a = pol.assistance
        set_order(v, k.ORD_ASSIST, [(g, add(a.schedules[g])) for g in a.order])
        if pol.reassistance:
            r = pol.reassistance
            set_order(v, k.ORD_REASSIST, [(g, add(r.schedules[g])) for g in r.order])
            basic[v, k.B_T4_INPROV] = int(r.require_in_province)
            basic[v, k.B_T4_REFERRAL] = int(r.require_referral)
        if pol.out_of_catalogue:
            basic[v, k.B_OOC_MASK] = groups_mask(pol.out_of_catalogue.groups)
            for lv in (1, 2, 3, 4):
                ooc_limit[v, lv] = pol.out_of_catalogue.limits[lv]

    nb_max = max(len(s.bands) for s in schedules)
    ns = len(schedules)
    s_ded = np.array([s.deductible for s in schedules], dtype=np.int64)
    s_nb = np.array([len(s.bands) for s in schedules], dtype=np.int64)
    s_cap = np.array([k.NO_CAP if s.cap is None else s.cap for s in schedules], dtype=np.int64)
    s_hi = np.full((ns, nb_max), k.NO_CAP, dtype=np.int64)
    s_ratio = np.zeros((ns, nb_max), dtype=np.int64)
    for i, s in enumerate(schedules):
        for j, band in enumerate(s.bands):
            s_hi[i, j] = k.NO_CAP if band.upto is None else band.upto
            s_ratio[i, j] = band.ratio
    return Compiled(
        starts, policies, schedules, basic, ded_lv, r_lv, ooc_limit, s_ded, s_nb, s_hi, s_ratio,
        s_cap, ord_bits, ord_sched, ord_len,
    )
