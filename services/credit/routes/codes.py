"""The assured consumption code, managed ("code manage"): by the merchant's staff and its officials."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path, Response

from services.credit.codes import Codes, qr_image
from services.credit.errors import CodeAlreadySuspended, CodeNotFound, CodeSuspended, MerchantNotFound, MerchantNotLive
from services.credit.models import AssuredCode
from services.credit.routes.api import router
from services.credit.routes.dependencies import CodeService, MerchantId, SubjectService, managed_merchant
from shared.auth import Caller
from shared.contracts.credit import CodeActionIn, CodeOut
from shared.errors import problem_responses


def code_out(codes: Codes, code: AssuredCode) -> CodeOut:
    return CodeOut(
        code=code.code,
        merchant_id=code.merchant_id,
        state=code.state,
        url=codes.url(code.code),
        issued_at=code.issued_at,
        changed_at=code.changed_at,
        note=code.note,
    )


@router.get("/merchants/{merchant_id}/code", tags=["merchants", "codes"], responses=problem_responses(CodeNotFound))
async def get_code(merchant_id: MerchantId, subjects: SubjectService, codes: CodeService, caller: Caller) -> CodeOut:
    """The merchant's current code: for its staff and its officials."""
    merchant = await managed_merchant(subjects, merchant_id, caller)
    return code_out(codes, await codes.require_current(merchant.id))


@router.get(
    "/merchants/{merchant_id}/code.{image}",
    tags=["merchants", "codes"],
    responses={
        200: {"content": {"image/png": {}, "image/svg+xml": {}}, "description": "the QR image of the code's URL"},
        **problem_responses(CodeNotFound, CodeSuspended),
    },
)
async def get_code_image(
    merchant_id: MerchantId,
    image: Annotated[str, Path(pattern=r"^(png|svg)$")],
    subjects: SubjectService,
    codes: CodeService,
    caller: Caller,
) -> Response:
    """The code as a QR image to print (PNG, or SVG for any size): for its staff and its officials."""
    merchant = await managed_merchant(subjects, merchant_id, caller)
    code = await codes.require_current(merchant.id)
    if code.state != "active":
        raise CodeSuspended("The code is suspended: reissue it to print a new one.")
    media = "image/png" if image == "png" else "image/svg+xml"
    return Response(
        qr_image(codes.url(code.code), image),
        media_type=media,
        headers={"Content-Disposition": f'inline; filename="{code.code}.{image}"'},
    )


@router.post(
    "/merchants/{merchant_id}/code/suspensions",
    tags=["merchants", "codes"],
    responses=problem_responses(MerchantNotFound, CodeNotFound, CodeAlreadySuspended),
)
async def suspend_code(
    merchant_id: MerchantId, body: CodeActionIn, subjects: SubjectService, codes: CodeService, caller: Caller
) -> CodeOut:
    """Suspend the code (closed for renovation, under investigation): scans answer code_suspended."""
    merchant = await managed_merchant(subjects, merchant_id, caller)
    return code_out(codes, await codes.suspend(await codes.require_current(merchant.id), caller.subject, body.note))


@router.post(
    "/merchants/{merchant_id}/code/reissues",
    tags=["merchants", "codes"],
    status_code=201,
    responses=problem_responses(MerchantNotFound, MerchantNotLive),
)
async def reissue_code(
    merchant_id: MerchantId, body: CodeActionIn, subjects: SubjectService, codes: CodeService, caller: Caller
) -> CodeOut:
    """A new code for a live merchant (lost or copied stickers, or after a suspension); the old one
    answers code_replaced from now on."""
    merchant = await managed_merchant(subjects, merchant_id, caller)
    if not merchant.live:
        raise MerchantNotLive("Only a live merchant has a code.", state=merchant.status)
    return code_out(codes, await codes.reissue(merchant, caller.subject, body.note))
