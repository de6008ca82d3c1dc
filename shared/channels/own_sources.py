"""The platform's own sources of complaints: its mini-programs and official account, partners, the desk,
and a higher command center's notices. Government channels each have a module of their own."""

from __future__ import annotations

from shared.channels import ChannelInfo

INFOS = (
    ChannelInfo("wechat_miniprogram", "微信小程序", "WeChat mini-program"),
    ChannelInfo("alipay_miniprogram", "支付宝小程序", "Alipay mini-program"),
    ChannelInfo("wechat_official_account", "微信公众号", "WeChat official account"),
    ChannelInfo("partner", "合作平台", "partner"),
    ChannelInfo("douyin", "抖音", "Douyin"),
    ChannelInfo("kuaishou", "快手", "Kuaishou"),
    ChannelInfo("walk_in", "现场受理", "walk-in", officials_file=True),
    # A notice from a higher command center about a post elsewhere (涉旅信息通报单), registered by officials.
    ChannelInfo("public_opinion", "舆情通报", "public opinion notice", officials_file=True),
)
