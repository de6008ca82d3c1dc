"""Evidence files on S3-compatible object storage, through the real services and the real S3 client (boto3) over
HTTP to an S3 server on a loopback port (moto's server mode, started here: what MinIO or OSS are in production).
Upload, proxied and presigned download, the access checks before either, size limits, removal; and the disk,
the embedded default, removes the same way."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import boto3
import httpx
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError
from moto.server import ThreadedMotoServer

from shared.contracts.identity import Role
from shared.testing.fakes.server import free_port
from tests.conftest import SANYA, Providers, gateway_overrides
from tests.factories import complaint_body, settle_merchant
from tests.gateway.test_gateway import add_staff, bearer, wechat_login
from tests.intake.test_evidence import PNG, jpeg_with_gps
from tests.support import Databases, Stack, running_stack

ACCESS_KEY, SECRET_KEY = "test-evidence-key", "test-evidence-secret-0123456789"


@pytest.fixture(scope="module")
def s3_url() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=free_port(), verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def _bucket_client(url: str) -> Any:
    """Another S3 client, to look into the bucket the way an operator would."""
    return boto3.client(
        "s3",
        endpoint_url=url,
        region_name="us-east-1",
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        config=Config(signature_version="s3v4", s3={"addressing_style": "path"}),
    )


@pytest.fixture
async def s3_stack(
    request: pytest.FixtureRequest, databases: Databases, providers: Providers, tmp_path: Path, s3_url: str
) -> AsyncIterator[tuple[Stack, str]]:
    """The services with intake's evidence in a bucket of its own (made at start-up), downloads `param`."""
    bucket = f"evidence-{secrets.token_hex(4)}"
    intake = {
        "evidence_storage": "s3",
        "evidence_s3_endpoint": s3_url,
        "evidence_s3_bucket": bucket,
        "evidence_s3_access_key": ACCESS_KEY,
        "evidence_s3_secret_key": SECRET_KEY,
        "evidence_s3_prefix": "intake/",
        "evidence_s3_create_bucket": True,
        "evidence_download": getattr(request, "param", "proxy"),
        "evidence_max_bytes": 64 * 1024,
    }
    overrides = {"gateway": gateway_overrides(providers), "intake": intake}
    async with running_stack(databases, tmp_path, overrides=overrides) as stack:
        yield stack, bucket


async def _complaint_with_photo(stack: Stack) -> tuple[dict[str, Any], str, dict[str, Any]]:
    await settle_merchant(stack)
    tourist = await wechat_login(stack.gateway, "s3-alice")
    created = await stack.gateway.post("/v1/complaints", headers=bearer(tourist), json=complaint_body())
    assert created.status_code == 201, created.text
    complaint_id = created.json()["id"]
    uploaded = await stack.gateway.post(
        f"/v1/complaints/{complaint_id}/evidence",
        headers=bearer(tourist),
        files={"file": ("room.jpg", jpeg_with_gps(), "image/jpeg")},
    )
    assert uploaded.status_code == 201, uploaded.text
    return tourist, complaint_id, uploaded.json()


async def test_evidence_goes_to_the_bucket_comes_back_through_the_services_and_is_removed(
    s3_stack: tuple[Stack, str], s3_url: str
) -> None:
    stack, bucket = s3_stack
    tourist, complaint_id, evidence = await _complaint_with_photo(stack)
    key = f"intake/{complaint_id}/{evidence['id']}"
    stored = _bucket_client(s3_url).get_object(Bucket=bucket, Key=key)
    content = stored["Body"].read()
    assert stored["ContentType"] == "image/jpeg" and stored["ContentLength"] == evidence["size_bytes"]
    assert b"PhoneCo" not in content  # what is in the bucket is the cleaned photo, not the upload

    path = f"/v1/complaints/{complaint_id}/evidence/{evidence['id']}"
    download = await stack.gateway.get(path, headers=bearer(tourist))
    assert download.status_code == 200, download.text
    assert download.content == content and download.headers["content-type"] == "image/jpeg"
    stranger = await wechat_login(stack.gateway, "s3-mallory")
    assert (await stack.gateway.get(path, headers=bearer(stranger))).status_code == 404

    # Size limits hold before anything reaches the bucket.
    too_big = await stack.gateway.post(
        f"/v1/complaints/{complaint_id}/evidence",
        headers=bearer(tourist),
        files={"file": ("big.png", PNG + b"\0" * (65 * 1024), "image/png")},
    )
    assert too_big.status_code == 413, too_big.text
    listed = _bucket_client(s3_url).list_objects_v2(Bucket=bucket, Prefix=f"intake/{complaint_id}/")
    assert [o["Key"] for o in listed["Contents"]] == [key]

    # Removal: not by someone else, then by the uploader; the object leaves the bucket and the file every list.
    await add_staff(stack, "sanya", "sanya-pass-123", Role.official, region_code=SANYA)
    login = await stack.gateway.post("/v1/auth/staff/login", json={"username": "sanya", "password": "sanya-pass-123"})
    official = login.json()
    refused = await stack.gateway.delete(path, headers=bearer(official))
    assert refused.status_code == 403 and refused.json()["code"] == "action_not_allowed"
    assert (await stack.gateway.delete(path, headers=bearer(stranger))).status_code == 404
    removed = await stack.gateway.delete(path, headers=bearer(tourist))
    assert removed.status_code == 204, removed.text
    with pytest.raises(ClientError) as gone:
        _bucket_client(s3_url).head_object(Bucket=bucket, Key=key)
    assert gone.value.response["Error"]["Code"] == "404"
    assert (await stack.gateway.get(path, headers=bearer(tourist))).status_code == 404
    assert (await stack.gateway.get(f"/v1/complaints/{complaint_id}/evidence", headers=bearer(tourist))).json() == []
    assert (await stack.gateway.delete(path, headers=bearer(tourist))).status_code == 204  # a retry: no change
    timeline = (await stack.gateway.get(f"/v1/complaints/{complaint_id}/timeline", headers=bearer(official))).json()
    kinds = [entry["kind"] for entry in timeline]
    assert kinds.count("evidence_added") == 1 and kinds.count("evidence_removed") == 1


@pytest.mark.parametrize("s3_stack", ["redirect"], indirect=True)
async def test_with_presigned_downloads_the_client_is_sent_to_the_bucket_after_the_same_checks(
    s3_stack: tuple[Stack, str],
) -> None:
    stack, _ = s3_stack
    tourist, complaint_id, evidence = await _complaint_with_photo(stack)
    path = f"/v1/complaints/{complaint_id}/evidence/{evidence['id']}"

    stranger = await wechat_login(stack.gateway, "s3-mallory")
    refused = await stack.gateway.get(path, headers=bearer(stranger))
    assert refused.status_code == 404 and "location" not in refused.headers

    redirect = await stack.gateway.get(path, headers=bearer(tourist))
    assert redirect.status_code == 307, redirect.text
    assert redirect.headers["cache-control"] == "no-store"
    location = redirect.headers["location"]
    assert "X-Amz-Signature=" in location and "X-Amz-Expires=300" in location
    async with httpx.AsyncClient() as browser:  # the tourist's client follows it to the object store
        fetched = await browser.get(location)
    assert fetched.status_code == 200
    assert fetched.headers["content-type"] == "image/jpeg"
    assert fetched.headers["content-disposition"] == f'attachment; filename="{evidence["id"]}.jpg"'
    assert len(fetched.content) == evidence["size_bytes"]


async def test_on_disk_a_removed_file_is_deleted_and_still_counts_for_the_daily_quota(stack: Stack) -> None:
    stack.apps["intake"].state.settings = stack.apps["intake"].state.settings.model_copy(
        update={"evidence_daily_files_per_account": 2}
    )
    tourist, complaint_id, evidence = await _complaint_with_photo(stack)
    root = stack.apps["intake"].state.storage.root
    stored = root / complaint_id / evidence["id"]
    assert stored.is_file()
    path = f"/v1/complaints/{complaint_id}/evidence/{evidence['id']}"
    assert (await stack.gateway.delete(path, headers=bearer(tourist))).status_code == 204
    assert not stored.exists()
    files = {"file": ("room.png", PNG, "image/png")}
    again = await stack.gateway.post(f"/v1/complaints/{complaint_id}/evidence", headers=bearer(tourist), files=files)
    assert again.status_code == 201, again.text
    third = await stack.gateway.post(f"/v1/complaints/{complaint_id}/evidence", headers=bearer(tourist), files=files)
    assert third.status_code == 429 and third.json()["code"] == "evidence_quota_exceeded"
