"""Settlement invariants over random claims and identities (hypothesis)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import polars as pl
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fangpin.engine import kernel as k
from fangpin.engine.params import EPOCH
from fangpin.engine.settle import Accumulators, compiled, group_masks, settle_batch, settle_claim
from fangpin.policy.groups import IDENTITIES
from fangpin.policy.registry import load_pack
from fangpin.tabular.claims import validate_claims, validate_identities
from tests.engine.helpers import claims_frame, identities_frame

PACKS = {
    "baseline": 2024, "anhui-huaibei-2022": 2022, "shanxi-linxian-2023": 2023, "sichuan-suining-2022": 2022,
    "zhejiang-xiangshan-2022": 2022, "ningxia-wuzhong-2025": 2025, "ningxia-shizuishan-2025": 2025,
}
PEOPLE = ("P1", "P2", "P3")


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


@st.composite
def scenario(draw):
    pack_id = draw(st.sampled_from(sorted(PACKS)))
    year = PACKS[pack_id]
    n = draw(st.integers(1, 14))
    claims = []
    for i in range(n):
        medfee = draw(st.one_of(st.integers(0, 5_000_00), st.integers(0, 600_000_00)))
        own = draw(st.integers(0, medfee))
        over = draw(st.integers(0, medfee - own))
        pre = draw(st.integers(0, medfee - own - over))
        day = draw(st.integers(0, 364 + 40))  # a few claims spill into the next year
        claims.append({
            "setl_id": f"S{draw(st.integers(0, 30)):02d}-{i}",
            "psn_no": draw(st.sampled_from(PEOPLE)),
            "setl_date": (dt.date(year, 1, 1) + dt.timedelta(days=day)).isoformat(),
            "med_type": draw(st.sampled_from(["11", "14", "21", "23"])),
            "hosp_lv": str(draw(st.integers(1, 4))),
            "in_province": str(draw(st.integers(0, 1))),
            "referral": str(draw(st.integers(0, 1))),
            "medfee_sumamt": _yuan(medfee), "fulamt_ownpay_amt": _yuan(own),
            "overlmt_selfpay": _yuan(over), "preselfpay_amt": _yuan(pre),
        })
    idents = []
    for _ in range(draw(st.integers(0, 5))):
        beg = dt.date(year, 1, 1) + dt.timedelta(days=draw(st.integers(-30, 300)))
        end = draw(st.one_of(st.none(), st.integers(0, 200)))
        idents.append({
            "psn_no": draw(st.sampled_from(PEOPLE)),
            "psn_idet_type": draw(st.sampled_from(sorted(IDENTITIES))),
            "begndate": beg.isoformat(),
            "enddate": "" if end is None else (beg + dt.timedelta(days=end)).isoformat(),
        })
    return pack_id, claims, idents


def _settle(pack_id, claims, idents):
    c = validate_claims(claims_frame(claims))
    i = validate_identities(identities_frame(idents))
    assert i.rejects.height == 0
    return load_pack(pack_id), c.good, i.good, settle_batch(load_pack(pack_id), c.good, i.good)


FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
MONEY = ["hifp_pay", "hifmi_pay", "maf_pay", "oth_pay", "hosp_part_amt", "fund_pay_sumamt", "psn_part_amt"]


@FAST
@given(scenario())
def test_amounts_are_never_negative_and_fund_person_hospital_add_up_to_the_total(s):
    _pack, _c, _i, result = _settle(*s)
    df = result.claims
    for col in MONEY:
        assert (df[col] >= 0).all(), col
    total = df["fund_pay_sumamt"] + df["psn_part_amt"] + df["hosp_part_amt"]
    assert (total == df["medfee_sumamt"]).all()
    assert (df["fund_pay_sumamt"] <= df["inscp_scp_amt"]).all()
    outpatient = df.filter(pl.col("kind") == 0)
    assert (outpatient["hifmi_pay"] + outpatient["maf_pay"] + outpatient["oth_pay"] == 0).all()


TIERS = ((k.ORD_TILT, "hifmi_pay"), (k.ORD_ASSIST, "maf_pay"), (k.ORD_REASSIST, "oth_pay"))


def _schedule(comp, mask: int, v: int, which: int) -> int:
    """The schedule tier `which` applies to a claim with these groups (-1: the tier pays nothing)."""
    s = int(k.resolve(mask, v, which, comp.ord_bits, comp.ord_sched, comp.ord_len))
    if which == k.ORD_TILT and s < 0:
        s = int(comp.basic[v, k.B_T2_DEFAULT])
    return s


@FAST
@given(scenario())
def test_no_annual_cap_is_exceeded(s):
    pack, _c, idents, result = _settle(*s)
    comp = compiled(pack)
    df = result.claims.with_columns(
        pl.Series("mask", group_masks(result.claims, idents)),
        pl.col("setl_date").dt.year().alias("year"),
    )
    for (_psn, year), g in df.group_by(["psn_no", "year"]):
        b = pack.policy_at(dt.date(year, 1, 1)).basic
        assert g.filter(pl.col("kind") == 0)["hifp_pay"].sum() <= b.outpatient_cap
        assert g.filter(pl.col("kind") > 0)["hifp_pay"].sum() <= b.annual_cap
        # Tiers 2-4 in settlement order: a claim paid under a capped schedule never takes the
        # year's total for that tier past the cap (a group change may switch schedules mid-year).
        paid = dict.fromkeys([col for _w, col in TIERS], 0)
        for row in g.sort("setl_date", "setl_id").iter_rows(named=True):
            v = int(comp.version_of(np.array([(row["setl_date"] - EPOCH).days]))[0])
            for which, col in TIERS:
                sched = _schedule(comp, row["mask"], v, which) if row["kind"] else -1
                paid[col] += row[col]
                if sched < 0:
                    assert row[col] == 0, col
                elif comp.s_cap[sched] != k.NO_CAP and row[col] > 0:
                    assert paid[col] <= comp.s_cap[sched], col


@FAST
@given(scenario())
def test_claim_by_claim_with_accumulators_equals_the_batch(s):
    pack, claims, idents, batch = _settle(*s)
    ordered = claims.with_row_index("_pos").sort("psn_no", "setl_date", "setl_id")
    carried: dict[tuple[str, int], Accumulators] = {}
    for row in ordered.iter_rows(named=True):
        one = claims.slice(row["_pos"], 1)
        key = (row["psn_no"], row["setl_date"].year)
        settled, carried[key] = settle_claim(pack, one, idents, carried.get(key))
        expect = batch.claims.slice(row["_pos"], 1)
        assert settled.select(MONEY).row(0) == expect.select(MONEY).row(0), row["setl_id"]
    for acc in batch.accumulators.iter_rows(named=True):
        assert carried[(acc["psn_no"], acc["year"])] == Accumulators(**{k: acc[k] for k in Accumulators.__dataclass_fields__})
