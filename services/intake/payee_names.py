"""The payee's real name given with a compensation request goes straight to compensation, which keeps it
(encrypted, until the claim is paid or rejected: services/compensation/payee_names.py). Intake keeps it
nowhere, not in the complaint, its timeline or an event: the outbox would hold it in clear for good."""

from __future__ import annotations

from fastapi import FastAPI

from services.intake.errors import PayeeNameNotStored
from services.intake.models import Complaint
from shared.auth import service_identity
from shared.contracts.compensation import PayeeNameHandover
from shared.contracts.identity import Identity, Role
from shared.errors import GatewayTimeout, ServiceUnavailable


async def hand_over(app: FastAPI, complaint: Complaint, actor: Identity, name: str) -> None:
    """Give compensation the name for the claim this complaint's request opens; called before the request is
    committed, so a failure here records nothing. (A request that fails after this leaves a name with no
    claim, which compensation deletes after a day.)"""
    assert complaint.consumer_id is not None  # request_compensation refuses a complaint without one
    body = PayeeNameHandover(
        consumer_id=complaint.consumer_id,
        name=name,
        consent=True,
        given_by="consumer" if actor.role == Role.consumer else actor.subject,
    )
    try:
        response = await app.state.clients["compensation"].request(
            "PUT",
            f"/internal/payee-names/{complaint.id}",
            identity=service_identity("intake"),
            retry=True,  # a PUT of the same name: harmless to send twice
            json=body.model_dump(mode="json"),
        )
    except (ServiceUnavailable, GatewayTimeout) as exc:
        raise PayeeNameNotStored(
            "The payee's name could not be kept just now, so nothing was recorded: please try again."
        ) from exc
    if response.status_code != 204:
        raise PayeeNameNotStored(
            f"The payee's name could not be kept (compensation answered {response.status_code}), so nothing was "
            "recorded: please try again."
        )
