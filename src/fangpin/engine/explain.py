"""Why a claim was paid what it was: each tier's base, deductible, band, ratio, cap and result.

The explanation settles the person's earlier claims of the year to get the accumulators, settles
the claim itself, and shows the steps with the kernel's own functions, so the figures shown are
the figures paid. `render_bill` lays it out in Chinese as a settlement bill (结算单) does.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from fangpin.engine import kernel as k
from fangpin.engine.params import EPOCH
from fangpin.engine.settle import Accumulators, compiled, settle_batch, settle_claim
from fangpin.policy.registry import Pack
from fangpin.units import fen_to_yuan, ratio_text

KIND_NAME = {0: "普通门诊", 1: "门诊慢特病", 2: "住院"}
LEVEL_NAME = {1: "一级(乡镇)", 2: "二级(县级)", 3: "三级(市级)", 4: "省级"}


@dataclass
class TierStep:
    name: str
    fund_code: str
    applies: bool
    note: str = ""
    base: int = 0  # this claim's base
    cum_before: int = 0
    cum_after: int = 0
    deductible: int = 0
    bands: list[tuple[int, int | None, int]] = field(default_factory=list)  # (lo, hi, ratio)
    f_before: int = 0
    f_after: int = 0
    cap: int | None = None
    paid_before: int = 0
    result: int = 0


@dataclass
class Explanation:
    setl_id: str
    psn_no: str
    setl_date: str
    med_type: str
    kind: int
    hosp_lv: int
    medfee: int
    fulamt: int
    overlmt: int
    preselfpay: int
    inscp: int
    group: str | None
    identities: list[str]
    tiers: list[TierStep]
    hosp_part: int
    ooc_note: str
    fund: int
    psn_part: int
    pack_name: str


def _person_year(claims: pl.DataFrame, setl_id: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    target = claims.filter(pl.col("setl_id") == setl_id)
    if target.height == 0:
        raise KeyError(setl_id)
    psn, date = target["psn_no"][0], target["setl_date"][0]
    same = claims.filter(
        (pl.col("psn_no") == psn) & (pl.col("setl_date").dt.year() == date.year)
    ).sort("setl_date", "setl_id")
    earlier = same.filter(
        (pl.col("setl_date") < date) | ((pl.col("setl_date") == date) & (pl.col("setl_id") < setl_id))
    )
    return target.head(1), earlier


def explain_claim(pack: Pack, claims: pl.DataFrame, identities: pl.DataFrame, setl_id: str) -> Explanation:
    target, earlier = _person_year(claims, setl_id)
    psn, date = target["psn_no"][0], target["setl_date"][0]
    acc = Accumulators()
    if earlier.height:
        prior = settle_batch(pack, earlier, identities)
        acc = Accumulators.from_array(prior.accumulators.select(k.ACC_NAMES).row(0))
    settled, after = settle_claim(pack, target, identities, acc)
    row = settled.row(0, named=True)
    comp = compiled(pack)
    days = (date - EPOCH).days
    v = int(comp.version_of([days])[0])
    policy = comp.policies[v]
    active = identities.filter(
        (pl.col("psn_no") == psn)
        & (pl.col("begndate") <= date)
        & (pl.col("enddate").is_null() | (pl.col("enddate") >= date))
    )
    mask = int(active["group_bit"].unique().sum()) if active.height else 0
    tables = (comp.s_ded, comp.s_nb, comp.s_hi, comp.s_ratio)

    def sched(which: int) -> int:
        return int(k.resolve(mask, v, which, comp.ord_bits, comp.ord_sched, comp.ord_len))

    def step(name, code, s, base, cum_before, paid_before, result, note="") -> TierStep:
        if s < 0:
            return TierStep(name, code, False, note or "不属于本项保障对象", base=base, result=0)
        cum_after = cum_before + base
        bands, lo = [], 0
        for b in range(int(comp.s_nb[s])):
            hi = int(comp.s_hi[s, b])
            bands.append((lo, None if hi == k.NO_CAP else hi, int(comp.s_ratio[s, b])))
            lo = hi
        cap = None if comp.s_cap[s] == k.NO_CAP else int(comp.s_cap[s])
        return TierStep(
            name, code, True, note, base, cum_before, cum_after, int(comp.s_ded[s]), bands,
            int(k.schedule_pay(cum_before, s, *tables)), int(k.schedule_pay(cum_after, s, *tables)),
            cap, paid_before, result,
        )

    kind, lv, inscp = row["kind"], row["hosp_lv"], row["inscp_scp_amt"]
    b = policy.basic
    tiers: list[TierStep] = []
    if kind == k.OUTPATIENT:
        t1 = TierStep("基本医疗保险", "390100", True, "普通门诊统筹", inscp, deductible=0,
                      bands=[(0, None, b.outpatient_ratio)], cap=b.outpatient_cap, paid_before=acc.paid11,
                      result=row["hifp_pay"])
        tiers.append(t1)
        note = "普通门诊不适用大病保险、医疗救助"
        tiers += [TierStep("大病保险", "390200", False, note), TierStep("医疗救助", "610100", False, note)]
    else:
        d1, r1 = (b.inpatient_deductible[lv], b.inpatient_ratio[lv]) if kind == k.INPATIENT else (b.chronic_deductible, b.chronic_ratio)
        tiers.append(TierStep("基本医疗保险", "390100", True, "住院起付线按次计算" if kind == k.INPATIENT else "门诊慢特病",
                              inscp, deductible=d1, bands=[(0, None, r1)], cap=b.annual_cap,
                              paid_before=acc.paid1, result=row["hifp_pay"]))
        base2 = inscp - row["hifp_pay"]
        s2 = sched(k.ORD_TILT)
        tilted = s2 >= 0
        if not tilted:
            s2 = int(comp.basic[v, k.B_T2_DEFAULT])
        tiers.append(step("大病保险", "390200", s2, base2, acc.cum2, acc.paid2, row["hifmi_pay"],
                          "困难群众倾斜支付" if tilted else ""))
        base3 = base2 - row["hifmi_pay"]
        tiers.append(step("医疗救助", "610100", sched(k.ORD_ASSIST), base3, acc.cum3, acc.paid3, row["maf_pay"]))
        if policy.reassistance:
            base4 = base3 - row["maf_pay"]
            r = policy.reassistance
            ok = (not r.require_in_province or row["in_province"]) and (not r.require_referral or row["referral"])
            if ok:
                tiers.append(step("倾斜救助", "610200", sched(k.ORD_REASSIST), base4, acc.cum4, acc.paid4, row["oth_pay"]))
            else:
                tiers.append(TierStep("倾斜救助", "610200", False, "须省内就医并规范转诊", base=base4))
    ooc = policy.out_of_catalogue
    ooc_note = ""
    if ooc and kind == k.INPATIENT and mask & int(comp.basic[v, k.B_OOC_MASK]):
        limit = ooc.limits[lv]
        ooc_note = (f"目录外费用限额 {ratio_text(limit)} × 总费用 {fen_to_yuan(row['medfee_sumamt'])} = "
                    f"{fen_to_yuan(k.mul_ratio(row['medfee_sumamt'], limit))},超出部分由医疗机构承担")
    del after
    return Explanation(
        setl_id=setl_id, psn_no=psn, setl_date=date.isoformat(), med_type=str(row["med_type"]), kind=kind,
        hosp_lv=lv, medfee=row["medfee_sumamt"], fulamt=row["fulamt_ownpay_amt"],
        overlmt=row["overlmt_selfpay"], preselfpay=row["preselfpay_amt"], inscp=inscp,
        group=row["group"], identities=sorted(active["psn_idet_type"].unique().to_list()), tiers=tiers,
        hosp_part=row["hosp_part_amt"], ooc_note=ooc_note, fund=row["fund_pay_sumamt"],
        psn_part=row["psn_part_amt"], pack_name=policy.name,
    )


def _y(fen: int | None) -> str:
    return "无封顶" if fen is None else f"{fen_to_yuan(fen)} 元"


def _band_text(t: TierStep) -> list[str]:
    if len(t.bands) == 1:
        return [f"      起付线以上部分:{ratio_text(t.bands[0][2])}"]
    lines = []
    for lo, hi, r in t.bands:
        span = f"{fen_to_yuan(lo)} 元以上" if hi is None else f"{fen_to_yuan(lo)}–{fen_to_yuan(hi)} 元"
        lines.append(f"      起付线以上 {span}:{ratio_text(r)}")
    return lines


def render_bill(e: Explanation) -> str:
    """The explanation as the lines of a settlement bill, in Chinese."""
    out = [
        "医疗费用一站式结算单(三重保障)",
        f"政策:{e.pack_name}",
        f"结算号:{e.setl_id}    人员编号:{e.psn_no}    结算日期:{e.setl_date}",
        f"医疗类别:{KIND_NAME[e.kind]}({e.med_type})    医疗机构等级:{LEVEL_NAME[e.hosp_lv]}",
        f"人员身份:{'、'.join(e.identities) or '无'}    适用类别:{e.group or '普通参保人员'}",
        "",
        f"医疗费用总额        {fen_to_yuan(e.medfee):>14} 元",
        f"  全自费金额        {fen_to_yuan(e.fulamt):>14} 元",
        f"  超限价自费        {fen_to_yuan(e.overlmt):>14} 元",
        f"  先行自付          {fen_to_yuan(e.preselfpay):>14} 元",
        f"政策范围内费用      {fen_to_yuan(e.inscp):>14} 元",
        "",
    ]
    for t in e.tiers:
        out.append(f"【{t.name}】(基金编码 {t.fund_code})")
        if not t.applies:
            out.append(f"    不予支付:{t.note}")
            out.append("")
            continue
        if t.note:
            out.append(f"    说明:{t.note}")
        if t.name == "基本医疗保险":
            out.append(f"    本次计算基数:{_y(t.base)}")
            out.append(f"    起付线:{_y(t.deductible)}    支付比例:{ratio_text(t.bands[0][2])}")
            out.append(f"    年度限额:{_y(t.cap)}    本年此前已支付:{_y(t.paid_before)}")
        else:
            out.append(f"    本次计算基数:{_y(t.base)}    年度累计:{_y(t.cum_before)} → {_y(t.cum_after)}")
            floor = "年度救助门槛" if t.fund_code == "610200" else "年度起付线"
            out.append(f"    {floor}:{_y(t.deductible)}    分段比例:")
            out.extend(_band_text(t))
            out.append(f"    按累计应付:{_y(t.f_after)} − 此前累计应付 {_y(t.f_before)} = {_y(t.f_after - t.f_before)}")
            out.append(f"    年度限额:{_y(t.cap)}    本年此前已支付:{_y(t.paid_before)}")
        out.append(f"    本次支付:{_y(t.result)}")
        out.append("")
    if e.ooc_note:
        out.append(f"【目录外费用控制】{e.ooc_note}")
    out.append(f"医疗机构承担        {fen_to_yuan(e.hosp_part):>14} 元")
    out.append(f"基金支付合计        {fen_to_yuan(e.fund):>14} 元")
    out.append(f"个人负担            {fen_to_yuan(e.psn_part):>14} 元")
    return "\n".join(out)
