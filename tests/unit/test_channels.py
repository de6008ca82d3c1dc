"""The complaint channels as their modules declare them: the names the API takes, which are governmental,
their labels, all derived from `shared/channels/`; a module that cannot be a channel stops the start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import TypeAdapter, ValidationError

from services.gateway.config import GatewaySettings
from shared import channels
from shared.channels import ChannelInfo
from shared.contracts.common import Channel


def test_the_modules_declare_the_channels_and_everything_else_follows() -> None:
    assert {"hotline_12345", "platform_12301", "platform_12315"} <= channels.governmental()
    assert not {"walk_in", "partner", "wechat_miniprogram"} & channels.governmental()
    assert channels.label_zh("hotline_12345") == "12345市长热线"
    assert channels.label_zh("platform_12315") == "12315平台"
    assert channels.label_zh("somewhere_else") == "somewhere_else"  # a stored name no module declares any more
    assert [c.value for c in Channel] == channels.names() and len(Channel) == len(channels.names())
    assert Channel.walk_in == "walk_in" and Channel("hotline_12345") == "hotline_12345"


def test_the_api_takes_a_declared_name_only_and_documents_them_all() -> None:
    adapter = TypeAdapter(Channel)
    assert adapter.validate_json('"platform_12301"') == "platform_12301"
    with pytest.raises(ValidationError) as refused:
        adapter.validate_json('"hotline_99999"')
    assert refused.value.errors()[0]["type"] == "enum"
    with pytest.raises(ValueError):
        Channel("hotline_99999")
    assert adapter.json_schema()["enum"] == channels.names()


def test_a_module_that_is_not_a_channel_stops_the_start() -> None:
    with pytest.raises(ValueError, match="not a module name"):
        channels.load("../secrets")
    with pytest.raises(ValueError, match="no channel module"):
        channels.load("hotline_99999")
    with pytest.raises(ValueError, match="a channel's name"):
        ChannelInfo("12345", "热线", "hotline")


# In a process of its own, as each service runs: what intake knows of a channel is what its own settings load.
_INTAKE_TAKES = """
import json, sys
from pydantic import TypeAdapter, ValidationError
from services.intake.config import IntakeSettings
from services.intake.main import create_app
from shared.contracts.common import Channel

create_app(IntakeSettings())
try:
    TypeAdapter(Channel).validate_python("example_hotline")
except ValidationError:
    print("refused")
else:
    print("taken")
"""


def _intake_in_its_own_process(tmp_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.endswith("_CHANNEL_MODULES")}
    url = f"sqlite+aiosqlite:///{tmp_path / 'intake.db'}"
    return subprocess.run(
        [sys.executable, "-c", _INTAKE_TAKES],
        env={**clean, "INTAKE_DATABASE_URL": url, **env},
        cwd=Path(__file__).resolve().parents[2],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_service_knows_a_channel_outside_the_package_from_its_own_setting(tmp_path: Path) -> None:
    without = _intake_in_its_own_process(tmp_path)
    assert without.stdout.strip() == "refused", without.stderr
    known = _intake_in_its_own_process(tmp_path, INTAKE_CHANNEL_MODULES="tests.e2e.example_channel")
    assert known.stdout.strip() == "taken", known.stderr
    wrong = _intake_in_its_own_process(tmp_path, INTAKE_CHANNEL_MODULES="tests.e2e.no_such_channel")
    assert wrong.returncode != 0 and "no channel module tests.e2e.no_such_channel" in wrong.stderr


def test_the_gateway_serves_an_outside_channel_only_if_the_platform_knows_it() -> None:
    outside = "hotline_12345,tests.e2e.example_channel"
    with pytest.raises(ValidationError, match="not in GATEWAY_CHANNEL_MODULES"):
        GatewaySettings(government_channels=outside)
    served = GatewaySettings(government_channels=outside, channel_modules="tests.e2e.example_channel")
    assert served.channel_module_names() == ["tests.e2e.example_channel"]
