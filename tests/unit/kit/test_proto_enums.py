"""svc_kit.proto_enums: the domain Channel to and from marketing.common.v1.Channel."""

from __future__ import annotations

from marketing.common.v1 import channel_pb2
from svc_kit.channels import Channel
from svc_kit.proto_enums import channel_from_proto, channel_proto_names, channel_to_proto


def test_every_channel_round_trips():
    for channel in Channel:
        assert channel_from_proto(channel_to_proto(channel)) is channel
        assert channel_pb2.Channel.Name(channel_to_proto(channel)) == f"CHANNEL_{channel.value}"


def test_unspecified_and_unknown_numbers_are_none():
    assert channel_from_proto(channel_pb2.CHANNEL_UNSPECIFIED) is None
    assert channel_from_proto(999) is None


def test_the_domain_spells_channels_as_the_api_does():
    assert Channel.known_names() == channel_proto_names() == "CHANNEL_EMAIL, CHANNEL_SMS, CHANNEL_PUSH, CHANNEL_IN_APP"
