"""The settlement bill (结算单) of a stored settlement: each tier's basis and result.

`fangpin.engine.explain.explain_claim` explains a claim from a claims file by settling the
year's earlier claims again. A stored settlement already carries what its basis was: the
person-year's accumulators just before it (`acc_before`, in the order the claims were really
settled) and the groups active that day (`group_mask`). This builds the engine's own
`Explanation` from those with the kernel's functions, so the figures shown are the figures
paid — and `render_bill` prints it as the command-line bill does.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import numpy as np

from fangpin.claims.ledger import acc_from, kind_of
from fangpin.claims.models import FUND_CODES, RESULT_FIELDS, Claim, Settlement
from fangpin.engine import kernel as k
from fangpin.engine.explain import Explanation, TierStep
from fangpin.engine.params import EPOCH
from fangpin.engine.settle import compiled
from fangpin.policy.registry import Pack, load_pack
from fangpin.units import RATIO_ONE, fen_to_yuan, mul_ratio, ratio_text


def _bands(comp, s: int) -> list[tuple[int, int | None, int]]:
    bands, lo = [], 0
    for b in range(int(comp.s_nb[s])):
        hi = int(comp.s_hi[s, b])
        bands.append((lo, None if hi == k.NO_CAP else hi, int(comp.s_ratio[s, b])))
        lo = hi
    return bands


def _step(
    comp,
    name: str,
    code: str,
    s: int,
    base: int,
    cum_before: int,
    paid_before: int,
    result: int,
    note: str = "",
) -> TierStep:
    if s < 0:
        return TierStep(name, code, False, note or "不属于本项保障对象", base=base, result=0)
    tables = (comp.s_ded, comp.s_nb, comp.s_hi, comp.s_ratio)
    cap = None if comp.s_cap[s] == k.NO_CAP else int(comp.s_cap[s])
    return TierStep(
        name,
        code,
        True,
        note,
        base,
        cum_before,
        cum_before + base,
        int(comp.s_ded[s]),
        _bands(comp, s),
        int(k.schedule_pay(cum_before, s, *tables)),
        int(k.schedule_pay(cum_before + base, s, *tables)),
        cap,
        paid_before,
        result,
    )


def explain_settlement(claim: Claim, s: Settlement, pack: Pack | None = None) -> Explanation:
    """The bill's figures for settlement `s` of `claim` (see the module docstring)."""
    pack = pack or load_pack(s.pack_id or claim.pack_id)
    comp = compiled(pack)
    v = int(comp.version_of(np.array([(claim.setl_date - EPOCH).days]))[0])
    policy = comp.policies[v]
    mask = s.group_mask
    acc = acc_from(s.acc_before) if s.acc_before else None
    kind, lv, inscp = kind_of(claim.med_type), claim.hosp_lv, claim.inscp_scp_amt

    def sched(which: int) -> int:
        return int(k.resolve(mask, v, which, comp.ord_bits, comp.ord_sched, comp.ord_len))

    tiers: list[TierStep] = []
    b = policy.basic
    if acc is None:
        # Paid elsewhere: the amounts are as reported; there is no local basis to show.
        note = "外部已结算,按导入金额记账"
        for field, (code, _label) in FUND_CODES.items():
            tiers.append(TierStep(_TIER_NAME[field], code, True, note, result=getattr(s, field)))
    elif kind == k.OUTPATIENT:
        tiers.append(
            TierStep(
                "基本医疗保险",
                "390100",
                True,
                "普通门诊统筹",
                inscp,
                deductible=0,
                bands=[(0, None, b.outpatient_ratio)],
                cap=b.outpatient_cap,
                paid_before=acc.paid11,
                result=s.hifp_pay,
            )
        )
        note = "普通门诊不适用大病保险、医疗救助"
        tiers += [
            TierStep("大病保险", "390200", False, note),
            TierStep("医疗救助", "610100", False, note),
        ]
    else:
        inpatient = kind == k.INPATIENT
        d1, r1 = (
            (b.inpatient_deductible[lv], b.inpatient_ratio[lv])
            if inpatient
            else (b.chronic_deductible, b.chronic_ratio)
        )
        tiers.append(
            TierStep(
                "基本医疗保险",
                "390100",
                True,
                "住院起付线按次计算" if inpatient else "门诊慢特病",
                inscp,
                deductible=d1,
                bands=[(0, None, r1)],
                cap=b.annual_cap,
                paid_before=acc.paid1,
                result=s.hifp_pay,
            )
        )
        base2 = inscp - s.hifp_pay
        s2 = sched(k.ORD_TILT)
        tilted = s2 >= 0
        if not tilted:
            s2 = int(comp.basic[v, k.B_T2_DEFAULT])
        tiers.append(
            _step(
                comp,
                "大病保险",
                "390200",
                s2,
                base2,
                acc.cum2,
                acc.paid2,
                s.hifmi_pay,
                "困难群众倾斜支付" if tilted else "",
            )
        )
        base3 = base2 - s.hifmi_pay
        tiers.append(
            _step(
                comp,
                "医疗救助",
                "610100",
                sched(k.ORD_ASSIST),
                base3,
                acc.cum3,
                acc.paid3,
                s.maf_pay,
            )
        )
        if policy.reassistance:
            r = policy.reassistance
            ok = (not r.require_in_province or claim.in_province) and (
                not r.require_referral or claim.referral
            )
            base4 = base3 - s.maf_pay
            if ok:
                tiers.append(
                    _step(
                        comp,
                        "倾斜救助",
                        "610200",
                        sched(k.ORD_REASSIST),
                        base4,
                        acc.cum4,
                        acc.paid4,
                        s.oth_pay,
                    )
                )
            else:
                tiers.append(
                    TierStep("倾斜救助", "610200", False, "须省内就医并规范转诊", base=base4)
                )
    ooc = policy.out_of_catalogue
    ooc_note = ""
    if acc is not None and ooc and kind == k.INPATIENT and mask & int(comp.basic[v, k.B_OOC_MASK]):
        limit = ooc.limits[lv]
        ooc_note = (
            f"目录外费用限额 {ratio_text(limit)} × 总费用 {fen_to_yuan(claim.medfee_sumamt)} = "
            f"{fen_to_yuan(mul_ratio(claim.medfee_sumamt, limit))},超出部分由医疗机构承担"
        )
    return Explanation(
        setl_id=claim.setl_id,
        psn_no=claim.psn_no,
        setl_date=claim.setl_date.isoformat(),
        med_type=str(claim.med_type),
        kind=kind,
        hosp_lv=lv,
        medfee=claim.medfee_sumamt,
        fulamt=claim.fulamt_ownpay_amt,
        overlmt=claim.overlmt_selfpay,
        preselfpay=claim.preselfpay_amt,
        inscp=inscp,
        group=s.group or None,
        identities=list(s.identities or []),
        tiers=tiers,
        hosp_part=s.hosp_part_amt,
        ooc_note=ooc_note,
        fund=s.fund_pay_sumamt,
        psn_part=s.psn_part_amt,
        pack_name=policy.name,
    )


_TIER_NAME = {
    "hifp_pay": "基本医疗保险",
    "hifmi_pay": "大病保险",
    "maf_pay": "医疗救助",
    "oth_pay": "倾斜救助",
}


def yuan(fen: int | None) -> str | None:
    return None if fen is None else fen_to_yuan(fen)


def ratio_decimal(r: int) -> str:
    """A ratio over RATIO_ONE as a decimal string: 6500 -> '0.65'."""
    return f"{(Decimal(r) / RATIO_ONE).normalize():f}"


def tier_json(t: TierStep) -> dict[str, Any]:
    """A tier's basis in the API's terms (amounts in yuan strings, ratios as decimals)."""
    out: dict[str, Any] = {
        "name": t.name,
        "fund_pay_type": t.fund_code,
        "applies": t.applies,
        "note": t.note,
        "result": yuan(t.result),
    }
    if not t.applies:
        return out
    out |= {
        "base": yuan(t.base),
        "deductible": yuan(t.deductible),
        "cap": yuan(t.cap),
        "paid_before": yuan(t.paid_before),
        "bands": [
            {"from": yuan(lo), "to": yuan(hi), "ratio": ratio_decimal(r)} for lo, hi, r in t.bands
        ],
    }
    if len(t.bands) == 1:
        out["ratio"] = ratio_decimal(t.bands[0][2])
    if t.fund_code != "390100" and t.bands:
        out |= {
            "cum_before": yuan(t.cum_before),
            "cum_after": yuan(t.cum_after),
            "due_before": yuan(t.f_before),
            "due_after": yuan(t.f_after),
        }
    return out


def bill_json(e: Explanation) -> dict[str, Any]:
    return {
        "policy": e.pack_name,
        "group": e.group,
        "identities": e.identities,
        "medfee_sumamt": yuan(e.medfee),
        "fulamt_ownpay_amt": yuan(e.fulamt),
        "overlmt_selfpay": yuan(e.overlmt),
        "preselfpay_amt": yuan(e.preselfpay),
        "inscp_scp_amt": yuan(e.inscp),
        "tiers": [tier_json(t) for t in e.tiers],
        "out_of_catalogue": e.ooc_note or None,
        "hosp_part_amt": yuan(e.hosp_part),
        "fund_pay_sumamt": yuan(e.fund),
        "psn_part_amt": yuan(e.psn_part),
    }


def adjusted(s: Settlement, sums: dict[str, int]) -> dict[str, str]:
    """The current amounts (settlement plus adjustments) in yuan."""
    return {f: fen_to_yuan(getattr(s, f) + sums.get(f, 0)) for f in RESULT_FIELDS}
