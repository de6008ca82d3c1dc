"""Intake's settings, from INTAKE_* environment variables."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from shared.settings import ServiceSettings

DATA_DIR = Path(__file__).resolve().parent / "data"


class IntakeSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="INTAKE_", extra="ignore")

    port: int = Field(8001, description="port to listen on")
    database_url: str = Field("sqlite+aiosqlite:///var/intake.db", description="SQLAlchemy async URL")
    regions_file: Path = Field(
        DATA_DIR / "regions.json",
        description="each region's settings (JSON) over the national catalogue, inherited down the parent chain",
    )
    evidence_storage: Literal["disk", "s3"] = Field(
        "disk",
        description=(
            "where evidence files are kept: disk (INTAKE_EVIDENCE_DIR; with several replicas a ReadWriteMany volume) "
            "or s3 (an S3-compatible object store: MinIO, AWS S3, Alibaba OSS; INTAKE_EVIDENCE_S3_*)"
        ),
    )
    evidence_dir: Path = Field(Path("var/evidence"), description="where evidence files are stored on disk")
    evidence_s3_endpoint: str = Field(
        "",
        description=(
            "the object store's URL as the services reach it (http://minio:9000, https://oss-cn-hangzhou.aliyuncs.com; "
            "empty: AWS S3 of the region)"
        ),
    )
    evidence_s3_public_endpoint: str = Field(
        "",
        description=(
            "the object store's URL as tourists' and staff's browsers reach it, for presigned downloads "
            "(empty: the same as INTAKE_EVIDENCE_S3_ENDPOINT)"
        ),
    )
    evidence_s3_bucket: str = Field("evidence", description="the bucket evidence files go to")
    evidence_s3_region: str = Field("us-east-1", description="the bucket's region (MinIO: us-east-1)")
    evidence_s3_access_key: str = Field(
        "", description="access key id (empty: boto3's own chain: environment, web identity, instance profile)"
    )
    evidence_s3_secret_key: str = Field("", description="secret access key that goes with the access key id")
    evidence_s3_addressing_style: Literal["path", "virtual", "auto"] = Field(
        "path",
        description=("path (MinIO, most self-hosted stores), virtual (bucket.host: Alibaba OSS requires it) or auto"),
    )
    evidence_s3_prefix: str = Field("", description="a prefix of every object key (to share a bucket), e.g. intake/")
    evidence_s3_create_bucket: bool = Field(
        False, description="create the bucket at start-up if it is missing (development and compose)"
    )
    evidence_download: Literal["proxy", "redirect"] = Field(
        "proxy",
        description=(
            "how a permitted download is served: proxy (intake reads the file and sends it) or, with s3, redirect "
            "(307 to a presigned URL of the object store, valid INTAKE_EVIDENCE_DOWNLOAD_SECONDS)"
        ),
    )
    evidence_download_seconds: int = Field(
        300, ge=10, le=3600, description="how long a presigned evidence download URL holds"
    )
    evidence_max_bytes: int = Field(10 * 1024 * 1024, description="largest evidence file")
    evidence_max_image_pixels: int = Field(
        16_000_000,
        ge=1,
        description=(
            "largest photo kept, in pixels: a larger JPEG is scaled down by 2, 4 or 8 as it is decoded, a larger PNG "
            "refused (decoding takes about 3 bytes a pixel of memory)"
        ),
    )
    evidence_max_files_per_complaint: int = Field(20, ge=1, description="evidence files a complaint may hold")
    evidence_max_bytes_per_complaint: int = Field(
        50 * 1024 * 1024, ge=1, description="total size of the evidence a complaint may hold"
    )
    evidence_daily_files_per_account: int = Field(
        50,
        ge=1,
        description=(
            "evidence files a tourist's or merchant's account may upload in any 24 hours (officials are not held to it)"
        ),
    )
    evidence_daily_bytes_per_account: int = Field(
        100 * 1024 * 1024,
        ge=1,
        description=("total size of the evidence a tourist's or merchant's account may upload in any 24 hours"),
    )
    queue_total_cap: int = Field(
        10_000,
        ge=1,
        description=(
            "the queue's first page counts the complaints its filter finds up to this many, no further: past it the "
            "page says `total` = this cap and `total_is_lower_bound` = true (the count reads one row more than this "
            "at most, however many match)"
        ),
    )
    # The acceptance rules' service-wide values; a region overrides them in its `acceptance` (regions_file).
    auto_accept: bool = Field(
        True,
        description=(
            "accept and assign a complaint at once (else an official decides); this and the three acceptance rules "
            "below are the platform's, which a region's `acceptance` in INTAKE_REGIONS_FILE overrides"
        ),
    )
    complaint_window_days: int = Field(90, gt=0, description="complaints about older events are out of scope")
    duplicate_window_hours: int = Field(
        24,
        gt=0,
        description=(
            "how far back a repeat complaint (the same account's) or a possible link (another account's) is looked for"
        ),
    )
    min_description_chars: int = Field(
        10,
        ge=0,
        description="a shorter description (punctuation and spaces not counted) is insufficient information",
    )
    duplicate_similarity: float = Field(
        0.6,
        description=("text similarity (0-1) above which a complaint is a repeat, or another account's a possible link"),
    )
    return_refund_hours: int = Field(48, description="hours a shop has to refund a return request before it escalates")
    scheduler_interval_seconds: float = Field(1.0, description="how often the deadline scheduler runs")
    scheduler_batch_size: int = Field(200, description="deadlines handled per transaction")
    idempotency_retention_days: float = Field(
        7,
        gt=0,
        description=(
            "how long an Idempotency-Key's first answer is replayed; a client retrying later (an offline phone) than "
            "this gets its write done again"
        ),
    )


settings = IntakeSettings()
