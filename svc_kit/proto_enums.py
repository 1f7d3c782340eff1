"""Domain enums to and from their protobuf enums, for entrypoints and adapters."""

from __future__ import annotations

from marketing.common.v1 import channel_pb2

from svc_kit.channels import Channel

_CHANNEL_FROM_PROTO = {channel_pb2.Channel.Value(f"CHANNEL_{c.value}"): c for c in Channel}
_CHANNEL_TO_PROTO = {c: v for v, c in _CHANNEL_FROM_PROTO.items()}


def channel_from_proto(value: int) -> Channel | None:
    """None for CHANNEL_UNSPECIFIED and numbers this release does not know."""
    return _CHANNEL_FROM_PROTO.get(value)


def channel_to_proto(channel: Channel) -> int:
    return _CHANNEL_TO_PROTO[channel]


def channel_proto_names() -> str:
    """The protobuf names of the channels this release knows, for error messages."""
    return ", ".join(channel_pb2.Channel.Name(value) for value in _CHANNEL_FROM_PROTO)
