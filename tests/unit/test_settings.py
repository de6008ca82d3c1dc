"""Services refuse to start in production with placeholder secrets or on SQLite."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

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
        GatewaySettings(environment="production", database_url=PG, internal_secret=SECRET, jwt_secret=SECRET,
                        wechat_secret="real-secret")
    with pytest.raises(ValidationError, match="WECHAT_PROGRESS_TEMPLATE_ID"):
        GatewaySettings(environment="production", database_url=PG, internal_secret=SECRET, jwt_secret=SECRET,
                        wechat_secret="real-secret", douyin_appid="", kuaishou_secret="real-kuaishou-secret")
    ok = GatewaySettings(environment="production", database_url=PG, internal_secret=SECRET, jwt_secret=SECRET,
                         wechat_secret="real-secret", douyin_appid="", kuaishou_secret="real-kuaishou-secret",
                         wechat_progress_template_id="real-template")
    assert ok.is_production


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("INTAKE_PORT", "9101")
    monkeypatch.setenv("INTAKE_COMPLAINT_WINDOW_DAYS", "30")
    settings = IntakeSettings()
    assert settings.port == 9101 and settings.complaint_window_days == 30


def test_the_settings_table_in_the_docs_is_the_one_the_code_reads() -> None:
    from pathlib import Path

    from shared.settings_doc import all_settings, settings_table

    documented = (Path(__file__).resolve().parents[2] / "docs" / "settings.md").read_text(encoding="utf-8")
    assert documented == settings_table(all_settings()), "run: python -m shared.settings_doc > docs/settings.md"
