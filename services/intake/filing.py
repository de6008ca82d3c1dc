"""Who may file a complaint, on which channel, for whom: decided from the signed identity alone.

- A tourist (consumer) files for themselves, on the channel they logged in through.
- A partner files on its own channel: a government channel's center as that channel, any other
  partner as `partner`.
- An official files for their own region (and its sub-regions) what reached them in person or by
  phone (`walk_in`, `hotline_12345`), and the notices a higher command center sends about posts elsewhere
  (`public_opinion`, 涉旅信息通报单). An admin files as an official of every region would.
- Merchant staff never file: a complaint is against a merchant, and a merchant's staff could use it
  against a competitor. Nor do services or anonymous callers.
"""

from __future__ import annotations

from dataclasses import dataclass

from services.intake.errors import ChannelNotAllowed, FilingNotAllowed, FilingRegionNotAllowed
from shared import channels
from shared.contracts.common import Channel
from shared.contracts.complaints import ComplaintSubmit
from shared.contracts.identity import Identity, Role, region_covers


@dataclass(frozen=True)
class Filer:
    """Who a new complaint is from: its channel, the tourist's account or the partner that pushed it."""

    channel: Channel
    consumer_id: str | None = None
    source_id: str | None = None


def filer_of(actor: Identity, body: ComplaintSubmit) -> Filer:
    """The filer the identity makes, or a 403 saying why this identity may not file this complaint."""
    if actor.role == Role.consumer:
        own = Channel(actor.channel) if actor.channel else Channel.wechat_miniprogram
        if body.channel is not None and body.channel != own:
            raise ChannelNotAllowed(
                f"You complain through {own}, the channel you logged in with; not as {body.channel}.", field="channel"
            )
        return Filer(channel=own, consumer_id=actor.subject)
    if actor.role == Role.partner:
        return Filer(channel=_partner_channel(actor, body), source_id=actor.subject)
    if actor.role in (Role.official, Role.admin):
        if actor.role == Role.official and not (
            actor.region_code and region_covers(actor.region_code, body.region_code)
        ):
            raise FilingRegionNotAllowed(
                f"Officials file complaints for their own region; {body.region_code} is not yours.", field="region_code"
            )
        channel = body.channel or Channel.walk_in
        official_channels = sorted(c.name for c in channels.all_channels() if c.officials_file)
        if channel not in official_channels:
            raise ChannelNotAllowed(
                f"Staff file what reached them in person or by phone ({', '.join(official_channels)}), not {channel}.",
                field="channel",
            )
        return Filer(channel=channel)
    if actor.role == Role.merchant_staff:
        raise FilingNotAllowed(
            "Merchant staff may not file complaints: a tourist files their own, or an "
            "official of the region files it for them."
        )
    raise FilingNotAllowed("Only tourists, partners and officials file complaints.")


def _partner_channel(actor: Identity, body: ComplaintSubmit) -> Channel:
    """A government channel's center submits as its channel; any other partner as `partner`."""
    if actor.channel is not None:
        if body.channel is not None and body.channel != actor.channel:
            raise ChannelNotAllowed(
                f"This partner is the {actor.channel} center; it cannot submit as {body.channel}.", field="channel"
            )
        return Channel(actor.channel)
    if body.channel in channels.governmental():
        raise ChannelNotAllowed(
            f"Only the {body.channel} center, registered with that channel, submits as {body.channel}.", field="channel"
        )
    if body.channel is not None and body.channel != Channel.partner:
        raise ChannelNotAllowed(
            f"A partner platform submits as {Channel.partner}, not {body.channel}.", field="channel"
        )
    return Channel.partner
