"""Evidence files stored behind a small storage interface (what a file may be: `evidence_files`).

Two kinds: the local disk (the embedded default: one machine, or a ReadWriteMany volume shared by the
replicas) and S3-compatible object storage (MinIO, AWS S3, Alibaba OSS, ...) through boto3. A download is
served by intake after its access checks either way; with object storage it may instead be a short-lived
presigned URL that the client follows (`INTAKE_EVIDENCE_DOWNLOAD=redirect`), so the bytes do not pass through
the services.
"""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from services.intake.errors import EvidenceMissing

if TYPE_CHECKING:
    from services.intake.config import IntakeSettings


class EvidenceStorage(Protocol):
    async def save(self, key: str, content: bytes, content_type: str) -> None: ...
    async def load(self, key: str) -> bytes: ...
    async def delete(self, key: str) -> None: ...
    def download_url(self, key: str, filename: str, content_type: str, seconds: int) -> str | None:
        """A URL the client may fetch the file from directly for `seconds`, or None (served by intake)."""
        ...


class DiskStorage:
    """Files under a directory (var/evidence by default); keys are relative paths."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        path = (self.root / key).resolve()
        if self.root.resolve() not in path.parents:
            raise ValueError("storage key escapes the storage root")
        return path

    async def save(self, key: str, content: bytes, content_type: str = "") -> None:
        path = self._path(key)

        def write() -> None:
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".part")
            tmp.write_bytes(content)
            tmp.replace(path)

        await asyncio.to_thread(write)

    async def load(self, key: str) -> bytes:
        try:
            return await asyncio.to_thread(self._path(key).read_bytes)
        except FileNotFoundError as exc:
            raise EvidenceMissing(key) from exc

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self._path(key).unlink, missing_ok=True)

    def download_url(self, key: str, filename: str, content_type: str, seconds: int) -> str | None:
        return None


class S3Storage:
    """Objects in one bucket of an S3-compatible store, under an optional key prefix. boto3 is blocking: its calls
    run in worker threads. Presigned URLs are signed (offline) for `public_endpoint` when the clients reach the
    store by another address than the services do (MinIO inside compose, say)."""

    def __init__(
        self,
        *,
        bucket: str,
        endpoint: str = "",
        public_endpoint: str = "",
        region: str = "us-east-1",
        access_key: str = "",
        secret_key: str = "",
        addressing_style: str = "path",
        prefix: str = "",
        timeout: float = 30.0,
    ) -> None:
        import boto3
        from botocore.config import Config

        config = Config(
            signature_version="s3v4",
            s3={"addressing_style": addressing_style},
            connect_timeout=min(timeout, 10.0),
            read_timeout=timeout,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        session = boto3.session.Session()
        credentials: dict[str, Any] = {}
        if access_key:  # else boto3's own chain: environment, web identity (IRSA/RRSA), instance profile
            credentials = {"aws_access_key_id": access_key, "aws_secret_access_key": secret_key}

        def client(url: str) -> Any:
            return session.client("s3", endpoint_url=url or None, region_name=region, config=config, **credentials)

        self.bucket = bucket
        self.region = region
        self.prefix = prefix
        self.client = client(endpoint)
        self.signer = client(public_endpoint) if public_endpoint and public_endpoint != endpoint else self.client

    @classmethod
    def from_settings(cls, settings: IntakeSettings) -> S3Storage:
        return cls(
            bucket=settings.evidence_s3_bucket,
            endpoint=settings.evidence_s3_endpoint,
            public_endpoint=settings.evidence_s3_public_endpoint,
            region=settings.evidence_s3_region,
            access_key=settings.evidence_s3_access_key,
            secret_key=settings.evidence_s3_secret_key,
            addressing_style=settings.evidence_s3_addressing_style,
            prefix=settings.evidence_s3_prefix,
        )

    def _key(self, key: str) -> str:
        return self.prefix + key

    async def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (development and compose; production creates it beforehand)."""
        from botocore.exceptions import ClientError

        try:
            await asyncio.to_thread(self.client.head_bucket, Bucket=self.bucket)
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") not in ("404", "NoSuchBucket"):
                raise
            where = (
                {} if self.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": self.region}}
            )
            await asyncio.to_thread(self.client.create_bucket, Bucket=self.bucket, **where)

    async def save(self, key: str, content: bytes, content_type: str = "application/octet-stream") -> None:
        await asyncio.to_thread(
            self.client.put_object,
            Bucket=self.bucket,
            Key=self._key(key),
            Body=content,
            ContentType=content_type,
            ContentLength=len(content),
        )

    async def load(self, key: str) -> bytes:
        from botocore.exceptions import ClientError

        def read() -> bytes:
            try:
                answer = self.client.get_object(Bucket=self.bucket, Key=self._key(key))
            except ClientError as exc:
                if exc.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                    raise EvidenceMissing(key) from exc
                raise
            with answer["Body"] as body:
                return bytes(body.read())

        return await asyncio.to_thread(read)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.client.delete_object, Bucket=self.bucket, Key=self._key(key))

    def download_url(self, key: str, filename: str, content_type: str, seconds: int) -> str | None:
        return str(
            self.signer.generate_presigned_url(
                "get_object",
                Params={
                    "Bucket": self.bucket,
                    "Key": self._key(key),
                    "ResponseContentType": content_type,
                    "ResponseContentDisposition": f'attachment; filename="{filename}"',
                },
                ExpiresIn=seconds,
            )
        )


def sha256_hex(content: bytes) -> str:
    return hashlib.sha256(content).hexdigest()
