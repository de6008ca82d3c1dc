"""The complaint channels as their modules declare them: the names the API takes, which are governmental,
their labels, all derived from `shared/channels/`; a module that cannot be a channel stops the start."""

from __future__ import annotations

import pytest
from pydantic import TypeAdapter, ValidationError

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
