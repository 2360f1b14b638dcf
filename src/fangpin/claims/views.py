"""The printable settlement bill page."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from fangpin import audit
from fangpin.accounts.access import mask_id
from fangpin.claims.access import get_claim_for_user
from fangpin.claims.bill import explain_settlement, yuan
from fangpin.claims.services import outcome_for
from fangpin.engine.explain import KIND_NAME, LEVEL_NAME
from fangpin.units import ratio_text


def bill(request: HttpRequest, setl_id: str) -> HttpResponse:
    claim = get_claim_for_user(request.user, setl_id)
    o = outcome_for(claim)
    e = explain_settlement(claim, o.settlement)
    audit.record(request, audit.VIEW, "settlement", setl_id, "查看结算单")
    tiers = []
    for t in e.tiers:
        tiers.append(
            {
                "name": t.name,
                "code": t.fund_code,
                "applies": t.applies,
                "note": t.note,
                "tier1": t.fund_code == "390100",
                "base": yuan(t.base),
                "deductible": yuan(t.deductible),
                "cap": yuan(t.cap) or "无封顶",
                "paid_before": yuan(t.paid_before),
                "result": yuan(t.result),
                "cum_before": yuan(t.cum_before),
                "cum_after": yuan(t.cum_after),
                "f_before": yuan(t.f_before),
                "f_after": yuan(t.f_after),
                "f_diff": yuan(t.f_after - t.f_before),
                "bands": [(yuan(lo), yuan(hi), ratio_text(r)) for lo, hi, r in t.bands],
            }
        )
    person = claim.person
    context = {
        "e": e,
        "claim": claim,
        "o": o,
        "tiers": tiers,
        "kind_name": KIND_NAME[e.kind],
        "level_name": LEVEL_NAME[e.hosp_lv],
        "person_name": person.name if person else "",
        "id_shown": mask_id(person.id_no, request.user)
        if person
        else mask_id(claim.psn_no, request.user),
        "money": {
            "medfee": yuan(e.medfee),
            "fulamt": yuan(e.fulamt),
            "overlmt": yuan(e.overlmt),
            "preselfpay": yuan(e.preselfpay),
            "inscp": yuan(e.inscp),
            "hosp_part": yuan(e.hosp_part),
            "fund": yuan(e.fund),
            "psn_part": yuan(e.psn_part),
        },
        "adjustments": [
            {
                "at": a.created_at,
                "why": a.run.get_kind_display(),
                "fund": yuan(a.fund_pay_sumamt),
                "psn": yuan(a.psn_part_amt),
            }
            for a in claim.adjustments.filter(settlement=o.settlement)
            .select_related("run")
            .order_by("id")
        ],
    }
    return render(request, "claims/bill.html", context)
