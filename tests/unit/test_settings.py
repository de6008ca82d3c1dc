"""Services refuse to start in production with placeholder secrets or on SQLite."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from services.compensation.config import CompensationSettings
from services.gateway.config import GatewaySettings
from services.intake.config import IntakeSettings

PG = "postgresql+asyncpg://app@db/tourism"
SECRET = "x" * 40


def test_production_refuses_the_placeholder_internal_secret() -> None:
    with pytest.raises(ValidationError, match="internal_secret"):
        IntakeSettings(environment="production", database_url=PG)


def test_production_refuses_sqlite() -> None:
    with pytest.raises(ValidationError, match="PostgreSQL"):
        IntakeSettings(environment="production", internal_secret=SECRET)


def test_production_gateway_refuses_demo_jwt_and_wechat_secrets() -> None:
    with pytest.raises(ValidationError, match="JWT"):
        GatewaySettings(environment="production", database_url=PG, internal_secret=SECRET)
    with pytest.raises(ValidationError, match="WECHAT"):
        GatewaySettings(environment="production", database_url=PG, internal_secret=SECRET, jwt_secret=SECRET)
    with pytest.raises(ValidationError, match="DOUYIN"):
        GatewaySettings(
            environment="production",
            database_url=PG,
            internal_secret=SECRET,
            jwt_secret=SECRET,
            wechat_secret="real-secret",
        )
    with pytest.raises(ValidationError, match="WECHAT_PROGRESS_TEMPLATE_ID"):
        GatewaySettings(
            environment="production",
            database_url=PG,
            internal_secret=SECRET,
            jwt_secret=SECRET,
            wechat_secret="real-secret",
            douyin_appid="",
            kuaishou_secret="real-kuaishou-secret",
        )
    ok = GatewaySettings(**REAL_GATEWAY)
    assert ok.is_production


REAL_GATEWAY = dict(
    environment="production",
    database_url=PG,
    internal_secret=SECRET,
    jwt_secret="j" * 40,
    partner_secret_keys="p" * 40,
    progress_link_secret="r" * 40,
    public_url="https://complaints.example.com",
    wechat_secret="real-secret",
    douyin_appid="",
    kuaishou_secret="real-kuaishou-secret",
    wechat_progress_template_id="real-template",
    wechat_api_base="https://api.weixin.qq.com",
    alipay_gateway_url="https://openapi.alipay.com/gateway.do",
    kuaishou_api_base="https://open.kuaishou.com",
)


@pytest.mark.parametrize("environment", ["Production", "prod", "PRODUCTION", "live", ""])
def test_an_environment_outside_the_closed_set_is_refused(environment: str) -> None:
    with pytest.raises(ValidationError, match="environment"):
        IntakeSettings(environment=environment, database_url=PG, internal_secret=SECRET)


@pytest.mark.parametrize("environment", ["staging", "production"])
def test_every_environment_but_development_refuses_what_only_development_may_have(environment: str) -> None:
    GatewaySettings(**{**REAL_GATEWAY, "environment": environment})  # the real thing starts
    for change, finding in (
        ({"database_url": "sqlite+aiosqlite:///var/gateway.db"}, "PostgreSQL"),
        ({"internal_secret": "dev-only-change-me"}, "internal_secret"),
        ({"jwt_secret": "dev-only-change-me"}, "JWT"),
        ({"partner_secret_keys": "dev-only-partner-secret-key-change-me"}, "PARTNER_SECRET_KEYS"),
        ({"partner_secret_keys": "j" * 40}, "three different secrets"),  # the JWT secret again
        ({"progress_link_secret": "dev-only-progress-link-secret-change-me"}, "PROGRESS_LINK_SECRET"),
        ({"progress_link_secret": "j" * 40}, "PROGRESS_LINK_SECRET must differ"),
        ({"public_url": "http://127.0.0.1:8000"}, "GATEWAY_PUBLIC_URL points at this machine"),
        ({"wechat_api_base": "http://127.0.0.1:8010"}, "GATEWAY_WECHAT_API_BASE points at this machine"),
        ({"alipay_gateway_url": "http://localhost:8011/gateway.do"}, "GATEWAY_ALIPAY_GATEWAY_URL"),
    ):
        with pytest.raises(ValidationError, match=finding):
            GatewaySettings(**{**REAL_GATEWAY, "environment": environment, **change})
    real_compensation = dict(
        environment=environment,
        database_url=PG,
        internal_secret=SECRET,
        wechatpay_apiv3_key="k" * 32,
        wechatpay_gateway_url="https://api.mch.weixin.qq.com",
        alipay_gateway_url="https://openapi.alipay.com/gateway.do",
        notify_base_url="https://complaints.example.com",
        payee_name_secret="n" * 40,
    )
    CompensationSettings(**real_compensation)
    with pytest.raises(ValidationError, match="demo key"):
        CompensationSettings(**{**real_compensation, "wechatpay_apiv3_key": "demo-apiv3-key-0123456789abcdef0"})
    for change, finding in (
        ({"payee_name_secret": "dev-only-payee-name-secret-change-me-0123456789"}, "PAYEE_NAME_SECRET must be"),
        ({"payee_name_secret": "short"}, "PAYEE_NAME_SECRET must be"),
        ({"payee_name_secret": SECRET}, "must differ from the internal secret"),
        ({"payee_name_previous_secret": "short"}, "PAYEE_NAME_PREVIOUS_SECRET is too short"),
    ):
        with pytest.raises(ValidationError, match=finding):
            CompensationSettings(**{**real_compensation, **change})
    with pytest.raises(ValidationError, match="COMPENSATION_NOTIFY_BASE_URL"):
        CompensationSettings(**{**real_compensation, "notify_base_url": "http://127.0.0.1:8000"})


def test_seed_demo_refuses_outside_development() -> None:
    from demo import DEMO_FILE
    from shared.seeding import read_demo_file

    assert read_demo_file(DEMO_FILE, IntakeSettings())["staff"]
    with pytest.raises(SystemExit, match="development only"):
        read_demo_file(DEMO_FILE, IntakeSettings(environment="staging", database_url=PG, internal_secret=SECRET))


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PORT", "9101")
    monkeypatch.setenv("INTAKE_COMPLAINT_WINDOW_DAYS", "30")
    settings = IntakeSettings()
    assert settings.port == 9101 and settings.complaint_window_days == 30


def test_the_settings_table_in_the_docs_is_the_one_the_code_reads() -> None:
    from pathlib import Path

    from tools.settings_doc import all_settings, settings_table

    documented = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text(encoding="utf-8")
    assert documented == settings_table(all_settings()), "run: python -m tools.settings_doc > docs/settings.md"
