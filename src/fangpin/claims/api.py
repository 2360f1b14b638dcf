"""The online settlement API (django-ninja) under /api/v1/, for designated institutions.

Every call carries the institution's key (`Authorization: Bearer <key>` or `X-Api-Key: <key>`);
an institution sees only its own settlements (another's answer 404). Field names are the
national platform's; OpenAPI at /api/openapi.json and the interactive page at /api/docs.
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from ninja import NinjaAPI, Router
from ninja.errors import ValidationError
from ninja.openapi.docs import DocsBase
from ninja.responses import Status

from fangpin.claims import services
from fangpin.claims.auth import BearerKey, HeaderKey, key_or_login
from fangpin.claims.bill import bill_json, explain_settlement
from fangpin.claims.models import FUND_CODES, RESULT_FIELDS
from fangpin.claims.schemas import AccumulatorOut, CancelIn, ClaimIn, Problem, SettlementOut
from fangpin.engine import kernel as k
from fangpin.units import fen_to_yuan, yuan_to_fen


class LocalSwagger(DocsBase):
    """Swagger UI from django-ninja's own bundled files, served by this app: the bureaus' intranets
    have no CDN, and the site's CSP allows scripts from itself only."""

    def render_page(self, request: HttpRequest, api: NinjaAPI, **kwargs: Any) -> HttpResponse:
        import json

        settings = {
            "url": self.get_openapi_url(api, kwargs),
            "layout": "BaseLayout",
            "deepLinking": True,
        }
        return render(
            request, "claims/api_docs.html", {"api": api, "swagger_settings": json.dumps(settings)}
        )


api = NinjaAPI(
    title="防贫 一站式结算接口",
    version="1",
    description="定点医药机构联网结算:结算(含预结算)、冲销、重新结算、查询结算单与年度累计。金额单位:元。",
    urls_namespace="api",
    docs=LocalSwagger(),
    docs_decorator=key_or_login,
    docs_url="/docs",
    openapi_url="/openapi.json",
)
router = Router(auth=[BearerKey(), HeaderKey()], tags=["结算"])


@api.exception_handler(services.Conflict)
def _conflict(request: HttpRequest, exc: services.Conflict) -> HttpResponse:
    return api.create_response(request, {"detail": str(exc)}, status=409)


@api.exception_handler(services.NotFound)
def _not_found(request: HttpRequest, exc: services.NotFound) -> HttpResponse:
    return api.create_response(request, {"detail": "未找到该结算"}, status=404)


def claim_input(body: ClaimIn) -> services.ClaimInput:
    inp = services.ClaimInput(
        setl_id=body.setl_id,
        psn_no=body.psn_no,
        setl_date=body.setl_date,
        med_type=int(body.med_type),
        hosp_lv=body.hosp_lv,
        in_province=body.in_province,
        referral=body.referral,
        medfee_sumamt=yuan_to_fen(body.medfee_sumamt),
        fulamt_ownpay_amt=yuan_to_fen(body.fulamt_ownpay_amt),
        overlmt_selfpay=yuan_to_fen(body.overlmt_selfpay),
        preselfpay_amt=yuan_to_fen(body.preselfpay_amt),
    )
    if inp.inscp_scp_amt < 0:
        raise ValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ["body", "claim", "inscp_scp_amt"],
                    "msg": "政策范围内费用为负:medfee_sumamt − fulamt_ownpay_amt − overlmt_selfpay − preselfpay_amt < 0",
                }
            ]
        )
    return inp


def settlement_json(o: services.Outcome) -> dict[str, Any]:
    c, s = o.claim, o.settlement
    e = explain_settlement(c, s)
    out = {
        "setl_id": c.setl_id,
        "psn_no": c.psn_no,
        "setl_date": c.setl_date,
        "med_type": str(c.med_type),
        "fixmedins_code": c.institution.code if c.institution_id else None,
        "state": "preview" if o.preview else "cancelled" if o.cancelled else "valid",
        "medfee_sumamt": fen_to_yuan(c.medfee_sumamt),
        "inscp_scp_amt": fen_to_yuan(c.inscp_scp_amt),
        **{f: fen_to_yuan(getattr(s, f)) for f in RESULT_FIELDS},
        "group": s.group or None,
        "setldetail": [
            {
                "fund_pay_type": code,
                "fund_pay_type_name": name,
                "fund_payamt": fen_to_yuan(getattr(s, f)),
            }
            for f, (code, name) in FUND_CODES.items()
            if getattr(s, f)
        ],
        "adjusted": {f: fen_to_yuan(getattr(s, f) + o.adjustments.get(f, 0)) for f in RESULT_FIELDS}
        if o.adjustments
        else None,
        "pack_id": s.pack_id,
        "settled_at": None if o.preview else s.created_at,
        "bill": bill_json(e),
    }
    return out


@router.post(
    "/settlements",
    response={200: SettlementOut, 201: SettlementOut, 409: Problem},
    summary="结算(dry_run 为预结算)",
)
def settle(request: HttpRequest, claim: ClaimIn):
    """Settle one claim through the three tiers. 201 when recorded; 200 for a setl_id seen
    before (the first result, nothing written) and for a pre-settlement."""
    o = services.settle_online(request.auth, claim_input(claim), dry_run=claim.dry_run)
    return Status(201 if o.created else 200, settlement_json(o))


@router.get(
    "/settlements/{setl_id}", response={200: SettlementOut, 404: Problem}, summary="查询结算单"
)
def get_settlement(request: HttpRequest, setl_id: str):
    return Status(
        200, settlement_json(services.outcome_for(services.get_claim(request.auth, setl_id)))
    )


@router.post(
    "/settlements/{setl_id}/cancel", response={200: SettlementOut, 404: Problem}, summary="冲销"
)
def cancel(request: HttpRequest, setl_id: str, body: CancelIn | None = None):
    """Cancel the settlement: a cancellation row is added, the person's accumulators released."""
    o = services.cancel_online(request.auth, setl_id, body.reason if body else "")
    return Status(200, settlement_json(o))


@router.post(
    "/settlements/{setl_id}/resettle",
    response={201: SettlementOut, 404: Problem, 409: Problem},
    summary="冲销后重新结算",
)
def resettle(request: HttpRequest, setl_id: str):
    o = services.resettle_online(request.auth, setl_id)
    return Status(201, settlement_json(o))


@router.get(
    "/persons/{psn_no}/accumulators/{year}",
    response={200: AccumulatorOut, 404: Problem},
    summary="年度累计",
)
def accumulators(request: HttpRequest, psn_no: str, year: int):
    """The person's year-to-date amounts, for an institution that settled a claim of theirs
    that year (any other answers 404: a key does not open everyone's records)."""
    _key, acc = services.accumulator_for(psn_no, year, request.auth)
    return {
        "psn_no": psn_no,
        "year": year,
        **{n: fen_to_yuan(getattr(acc, n)) for n in k.ACC_NAMES},
    }


api.add_router("/v1/", router)
