"""Evidence files: type read from the content, size limited, cleaned of what a photo tells about the tourist,
refused when they carry markup, within a quota, stored, and read back as an attachment by those who may."""

from __future__ import annotations

import hashlib
import io
import zlib
from datetime import timedelta
from pathlib import Path

from PIL import ExifTags, Image

from shared.contracts.identity import Role
from tests.conftest import SANYA, consumer, merchant_staff, official
from tests.factories import HOTEL, complaint_body, settle_merchant, submit
from tests.gateway.test_gateway import add_staff, bearer, wechat_login
from tests.support import Databases, Stack, running_stack

ALICE = consumer("usr_ALICE")
PDF = b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n"


def png(size: tuple[int, int] = (24, 16), **chunks: bytes) -> bytes:
    """A real PNG; each keyword is an ancillary chunk (tEXt, zTXt, ...) put before the image data."""
    out = io.BytesIO()
    Image.new("RGB", size, (20, 120, 200)).save(out, "PNG")
    data = out.getvalue()
    extra = b"".join(
        len(body).to_bytes(4, "big") + kind.encode() + body + zlib.crc32(kind.encode() + body).to_bytes(4, "big")
        for kind, body in chunks.items()
    )
    idat = data.index(b"IDAT") - 4
    return data[:idat] + extra + data[idat:]


def jpeg_with_gps(comment: bytes | None = None) -> bytes:
    """A 40x20 phone photo taken on its side (EXIF orientation 6) with the camera's make and a GPS fix."""
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "PhoneCo"
    exif[ExifTags.Base.Orientation] = 6
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps.update(
        {
            ExifTags.GPS.GPSLatitudeRef: "N",
            ExifTags.GPS.GPSLatitude: (18.0, 15.0, 30.0),
            ExifTags.GPS.GPSLongitudeRef: "E",
            ExifTags.GPS.GPSLongitude: (109.0, 30.0, 0.0),
        }
    )
    out = io.BytesIO()
    options = {"comment": comment} if comment else {}
    Image.new("RGB", (40, 20), (200, 30, 30)).save(out, "JPEG", exif=exif, **options)
    return out.getvalue()


PNG = png()


async def upload(stack: Stack, who, complaint_id: str, name: str, content: bytes, content_type: str = "image/jpeg"):
    return await stack.clients["intake"].post(
        f"/v1/complaints/{complaint_id}/evidence", headers=stack.as_(who), files={"file": (name, content, content_type)}
    )


async def evidence_of(stack: Stack, complaint_id: str) -> list[dict]:
    listed = await stack.clients["intake"].get(f"/v1/complaints/{complaint_id}/evidence", headers=stack.as_(ALICE))
    return listed.json()


async def test_photo_is_stored_and_read_back_by_those_who_may(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    response = await upload(stack, ALICE, c["id"], "room.png", PNG, "application/octet-stream")
    assert response.status_code == 201, response.text
    evidence = response.json()
    assert evidence["content_type"] == "image/png" and evidence["filename"] == "room.png"
    pdf = (await upload(stack, ALICE, c["id"], "receipt.pdf", PDF)).json()
    assert pdf["content_type"] == "application/pdf" and pdf["sha256"] == hashlib.sha256(PDF).hexdigest()

    intake = stack.clients["intake"]
    download = await intake.get(f"/v1/complaints/{c['id']}/evidence/{evidence['id']}", headers=stack.as_(official()))
    assert download.status_code == 200 and download.headers["content-type"] == "image/png"
    assert download.headers["content-disposition"] == f'attachment; filename="{evidence["id"]}.png"'
    assert download.headers["x-content-type-options"] == "nosniff"
    # What is served is what was stored and hashed: the same picture, re-encoded.
    assert evidence["sha256"] == hashlib.sha256(download.content).hexdigest()
    assert evidence["size_bytes"] == len(download.content)
    assert Image.open(io.BytesIO(download.content)).tobytes() == Image.open(io.BytesIO(PNG)).tobytes()
    assert len(await evidence_of(stack, c["id"])) == 2
    seen = (await intake.get(f"/v1/complaints/{c['id']}", headers=stack.as_(ALICE))).json()
    assert seen["evidence_count"] == 2
    stranger = await intake.get(
        f"/v1/complaints/{c['id']}/evidence/{evidence['id']}", headers=stack.as_(consumer("usr_BOB"))
    )
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
    broken = await upload(stack, ALICE, c["id"], "cut.png", PNG[:40])
    assert broken.status_code == 422 and broken.json()["code"] == "evidence_unreadable"
    assert await evidence_of(stack, c["id"]) == []
    kinds = [
        e["kind"]
        for e in (
            await stack.clients["intake"].get(f"/v1/complaints/{c['id']}/timeline", headers=stack.as_(ALICE))
        ).json()
    ]
    assert "evidence_added" not in kinds


async def test_a_photo_loses_its_exif_and_gps_before_anyone_sees_it(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    photo = jpeg_with_gps()
    assert b"PhoneCo" in photo and Image.open(io.BytesIO(photo)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    response = await upload(stack, ALICE, c["id"], "IMG_0001.jpg", photo)
    assert response.status_code == 201, response.text
    evidence = response.json()
    assert evidence["content_type"] == "image/jpeg"
    for who in (merchant_staff(HOTEL), official(), ALICE):
        download = await stack.clients["intake"].get(
            f"/v1/complaints/{c['id']}/evidence/{evidence['id']}", headers=stack.as_(who)
        )
        assert download.status_code == 200, download.text
        image = Image.open(io.BytesIO(download.content))
        assert not image.getexif() and "exif" not in image.info
        assert b"Exif" not in download.content and b"PhoneCo" not in download.content
        # The orientation the camera recorded is applied to the pixels, so the photo still stands upright.
        assert image.size == (20, 40)


async def test_files_that_carry_a_web_page_or_script_are_refused(stack: Stack) -> None:
    await settle_merchant(stack)
    c = await submit(stack, ALICE)
    polyglots = {
        "text-chunk.png": png(tEXt=b"Comment\x00<script>alert(document.cookie)</script>"),
        "zipped-chunk.png": png(zTXt=b"Comment\x00\x00" + zlib.compress(b"<svg onload=alert(1)>")),
        "trailing.png": PNG + b"<!DOCTYPE html><html><body><script>alert(1)</script></body></html>",
        "comment.jpg": jpeg_with_gps(comment=b"<html><img src=x onerror=alert(1)></html>"),
        "page.pdf": b"%PDF-1.7\n<html><script>alert(1)</script></html>\n",
    }
    for name, content in polyglots.items():
        refused = await upload(stack, ALICE, c["id"], name, content)
        assert refused.status_code == 415, (name, refused.text)
        problem = refused.json()
        assert problem["code"] == "evidence_contains_markup" and "网页或脚本" in problem["detail"], name
    assert await evidence_of(stack, c["id"]) == []


async def test_a_tourist_has_an_evidence_quota_per_complaint_and_per_day(databases: Databases, tmp_path: Path) -> None:
    quota = {
        "evidence_max_files_per_complaint": 3,
        "evidence_max_bytes_per_complaint": 3 * len(PNG) + 10,
        "evidence_daily_files_per_account": 4,
        "evidence_daily_bytes_per_account": 10 * 1024 * 1024,
    }
    async with running_stack(databases, tmp_path, overrides={"intake": quota}) as stack:
        await settle_merchant(stack)
        first = await submit(stack, ALICE)
        for n in range(3):
            assert (await upload(stack, ALICE, first["id"], f"{n}.png", png((24 + n, 16)))).status_code == 201
        full = await upload(stack, ALICE, first["id"], "3.png", PNG)
        assert full.status_code == 409 and full.json()["code"] == "evidence_quota_exceeded"
        assert "最多 3 个证据文件" in full.json()["detail"]

        second = await submit(
            stack,
            ALICE,
            description="另一件事：景区门票被重复扣款，客服不予处理，要求退款。",
            merchant_id=None,
            merchant_name="某景区",
        )
        assert (await upload(stack, ALICE, second["id"], "4.png", PNG)).status_code == 201
        daily = await upload(stack, ALICE, second["id"], "5.png", PNG)
        assert daily.status_code == 429 and daily.json()["code"] == "evidence_quota_exceeded"
        assert "每天最多上传 4 个文件" in daily.json()["detail"]
        # Officials adding what a hotline caller sent are not held to a tourist's daily quota.
        assert (await upload(stack, official(), second["id"], "call.pdf", PDF)).status_code == 201
        assert len(await evidence_of(stack, second["id"])) == 2

        stack.clock.advance(timedelta(hours=24, seconds=1))
        assert (await upload(stack, ALICE, second["id"], "6.png", PNG)).status_code == 201


async def test_a_complaints_files_are_limited_in_total_size(databases: Databases, tmp_path: Path) -> None:
    big = png((600, 600))
    quota = {"evidence_max_bytes_per_complaint": len(big) + len(PNG)}
    async with running_stack(databases, tmp_path, overrides={"intake": quota}) as stack:
        await settle_merchant(stack)
        c = await submit(stack, ALICE)
        assert (await upload(stack, ALICE, c["id"], "big.png", big)).status_code == 201
        too_much = await upload(stack, ALICE, c["id"], "more.png", big)
        assert too_much.status_code == 409 and too_much.json()["code"] == "evidence_quota_exceeded"
        assert (await upload(stack, ALICE, c["id"], "small.png", PNG)).status_code == 201


async def test_evidence_through_the_gateway_is_an_attachment_of_the_type_its_content_has(stack: Stack) -> None:
    await settle_merchant(stack)
    tokens = await wechat_login(stack.gateway, "alice")
    created = await stack.gateway.post("/v1/complaints", headers=bearer(tokens), json=complaint_body())
    assert created.status_code == 201, created.text
    complaint_id = created.json()["id"]
    # Claimed to be a web page; its bytes say PNG, and PNG is what it is served as.
    uploaded = await stack.gateway.post(
        f"/v1/complaints/{complaint_id}/evidence",
        headers=bearer(tokens),
        files={"file": ("room.html", PNG, "text/html")},
    )
    assert uploaded.status_code == 201, uploaded.text
    assert uploaded.headers["x-content-type-options"] == "nosniff"
    evidence_id = uploaded.json()["id"]
    await add_staff(stack, "sanya", "sanya-pass-123", Role.official, region_code=SANYA)
    staff = (
        await stack.gateway.post("/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-123"})
    ).json()
    for who in (tokens, staff):
        download = await stack.gateway.get(f"/v1/complaints/{complaint_id}/evidence/{evidence_id}", headers=bearer(who))
        assert download.status_code == 200, download.text
        assert download.headers["content-type"] == "image/png"
        assert download.headers["content-disposition"] == f'attachment; filename="{evidence_id}.png"'
        assert download.headers["x-content-type-options"] == "nosniff"
