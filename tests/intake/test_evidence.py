"""Evidence files: type read from the content, size limited, stored, readable by those who may."""

from __future__ import annotations

import hashlib

from tests.conftest import consumer, official
from tests.factories import settle_merchant, submit
from tests.support import Stack

ALICE = consumer("usr_ALICE")
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(64)
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


async def upload(stack: Stack, who, complaint_id: str, name: str, content: bytes, content_type: str = "image/jpeg"):
    return await stack.clients["intake"].post(f"/v1/complaints/{complaint_id}/evidence", headers=stack.as_(who),
                                              files={"file": (name, content, content_type)})


async def test_photo_is_stored_and_read_back_by_those_who_may(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    response = await upload(stack, ALICE, c["id"], "room.png", PNG, "application/octet-stream")
    assert response.status_code == 201, response.text
    evidence = response.json()
    assert evidence["content_type"] == "image/png" and evidence["size_bytes"] == len(PNG)
    assert evidence["sha256"] == hashlib.sha256(PNG).hexdigest()
    assert (await upload(stack, ALICE, c["id"], "receipt.pdf", PDF)).json()["content_type"] == "application/pdf"

    intake = stack.clients["intake"]
    download = await intake.get(f"/v1/complaints/{c['id']}/evidence/{evidence['id']}", headers=stack.as_(official()))
    assert download.status_code == 200 and download.content == PNG
    assert download.headers["content-type"] == "image/png"
    listed = await intake.get(f"/v1/complaints/{c['id']}/evidence", headers=stack.as_(ALICE))
    assert len(listed.json()) == 2
    seen = (await intake.get(f"/v1/complaints/{c['id']}", headers=stack.as_(ALICE))).json()
    assert seen["evidence_count"] == 2
    stranger = await intake.get(f"/v1/complaints/{c['id']}/evidence/{evidence['id']}",
                                headers=stack.as_(consumer("usr_BOB")))
    assert stranger.status_code == 404


async def test_disguised_and_oversized_files_are_refused_and_nothing_is_kept(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    disguised = await upload(stack, ALICE, c["id"], "photo.jpg", b"MZ\x90\x00 this is an executable")
    assert disguised.status_code == 415 and disguised.json()["code"] == "unsupported_evidence_type"
    huge = await upload(stack, ALICE, c["id"], "big.jpg", b"\xff\xd8\xff\xe0" + bytes(10 * 1024 * 1024))
    assert huge.status_code == 413 and huge.json()["code"] == "payload_too_large"
    empty = await upload(stack, ALICE, c["id"], "empty.jpg", b"")
    assert empty.status_code == 422
    listed = await stack.clients["intake"].get(f"/v1/complaints/{c['id']}/evidence", headers=stack.as_(ALICE))
    assert listed.json() == []
    kinds = [e["kind"] for e in (await stack.clients["intake"].get(
        f"/v1/complaints/{c['id']}/timeline", headers=stack.as_(ALICE))).json()]
    assert "evidence_added" not in kinds
