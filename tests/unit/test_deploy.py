"""No container engine runs here, so the deploy files are checked as data: they must match the code."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tools.settings_doc import all_settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
SERVICES = ("gateway", "intake", "compensation", "credit")


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((DEPLOY / "compose.yaml").read_text(encoding="utf-8"))


def test_every_variable_compose_sets_is_a_setting_the_service_reads(compose: dict) -> None:
    settings = all_settings()
    for name in SERVICES:
        env = compose["services"][name]["environment"]
        prefix = name.upper() + "_"
        known = {prefix + field.upper() for field in settings[name].model_fields}
        unknown = {k for k in env if k.startswith(prefix)} - known
        assert not unknown, f"{name}: compose sets variables no setting reads: {unknown}"
        assert env["SERVICE"] == name
        for required in ("DATABASE_URL", "DATABASE_SCHEMA", "INTERNAL_SECRET", "HOST", "ENVIRONMENT"):
            assert prefix + required in env, f"{name} lacks {prefix}{required}"
        assert env[prefix + "ENVIRONMENT"] == "production" and env[prefix + "HOST"] == "0.0.0.0"
        for other in SERVICES:
            if other != name:
                assert env[f"{prefix}{other.upper()}_URL"] == f"http://{other}:{settings[other]().port}"


def test_migrations_run_before_the_services_for_every_schema(compose: dict) -> None:
    migrate = compose["services"]["migrate"]
    assert all(
        compose["services"][s]["depends_on"]["migrate"]["condition"] == "service_completed_successfully"
        for s in SERVICES
    )
    for name in SERVICES:
        assert (
            migrate["environment"][f"{name.upper()}_DATABASE_SCHEMA"]
            == compose["services"][name]["environment"][f"{name.upper()}_DATABASE_SCHEMA"]
        )
    assert "gateway intake compensation credit" in " ".join(migrate["command"])


def test_only_the_gateway_is_published(compose: dict) -> None:
    published = {name for name, svc in compose["services"].items() if svc.get("ports")}
    assert published == {"gateway"}


def test_the_image_runs_as_a_non_root_user_with_a_health_check() -> None:
    dockerfile = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    assert "\nUSER app\n" in dockerfile and "HEALTHCHECK" in dockerfile
    assert "services.${SERVICE}.main" in dockerfile
    assert dockerfile.count("FROM ") == 2  # multi-stage: build tools stay out of the image
