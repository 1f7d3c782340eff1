"""Protobuf profiles to domain values and back."""

from __future__ import annotations

import math
from datetime import UTC

from google.protobuf import timestamp_pb2

from marketing.audience.v1 import profile_pb2
from marketing.common.v1 import attribute_pb2
from svc_kit.errors import FieldViolation, InvalidArgument
from svc_kit.proto_enums import channel_from_proto, channel_proto_names, channel_to_proto

from svc_audience.domain.model import AttributeValue, Consent, ConsentStatus, DeviceToken, Profile, ProfileData

_PLATFORMS = {profile_pb2.DeviceToken.PLATFORM_IOS: "IOS", profile_pb2.DeviceToken.PLATFORM_ANDROID: "ANDROID",
              profile_pb2.DeviceToken.PLATFORM_WEB: "WEB"}
_PLATFORMS_BACK = {v: k for k, v in _PLATFORMS.items()}
_STATUS = {profile_pb2.Consent.STATUS_UNSPECIFIED: ConsentStatus.UNKNOWN,
           profile_pb2.Consent.STATUS_GRANTED: ConsentStatus.GRANTED,
           profile_pb2.Consent.STATUS_DENIED: ConsentStatus.DENIED,
           profile_pb2.Consent.STATUS_PENDING: ConsentStatus.PENDING}
_STATUS_BACK = {v: k for k, v in _STATUS.items()}


def _time(stamp: timestamp_pb2.Timestamp):
    return stamp.ToDatetime(tzinfo=UTC)


def _stamp(value) -> timestamp_pb2.Timestamp:
    stamp = timestamp_pb2.Timestamp()
    stamp.FromDatetime(value)
    return stamp


def attribute_value(attribute: attribute_pb2.Attribute, at: str, out: list[FieldViolation]) -> AttributeValue | None:
    kind = attribute.WhichOneof("value")
    if kind is None:
        out.append(FieldViolation(at, "has no value: set one of stringValue, intValue, doubleValue, boolValue, "
                                      "timestampValue, stringListValue"))
        return None
    if kind == "timestamp_value":
        return _time(attribute.timestamp_value)
    if kind == "string_list_value":
        return tuple(attribute.string_list_value.values)
    value = getattr(attribute, kind)
    if kind == "double_value" and not math.isfinite(value):
        out.append(FieldViolation(at, "NaN and infinities are refused"))
        return None
    return value


def data_from_proto(message: profile_pb2.Profile, now) -> ProfileData:
    """Empty text fields mean "not given"; UpdateProfile with a mask clears them."""
    out: list[FieldViolation] = []
    attributes = {}
    for i, attribute in enumerate(message.attributes):
        at = f"profile.attributes[{i}]"
        if attribute.key in attributes:
            out.append(FieldViolation(at, f"key {attribute.key!r} is given twice"))
        value = attribute_value(attribute, at, out)
        if value is not None:
            attributes[attribute.key] = value
    consents = {}
    for i, consent in enumerate(message.consents):
        channel = channel_from_proto(consent.channel)
        if channel is None:
            out.append(FieldViolation(f"profile.consents[{i}].channel", f"must be one of {channel_proto_names()}"))
            continue
        if channel in consents:
            out.append(FieldViolation(f"profile.consents[{i}].channel", f"{channel.value} is given twice"))
        when = _time(consent.update_time) if consent.HasField("update_time") else now
        consents[channel] = Consent(_STATUS.get(consent.status, ConsentStatus.UNKNOWN), when, consent.source)
    devices = tuple(DeviceToken(d.token, _PLATFORMS.get(d.platform, ""), d.app_id,
                                _time(d.last_seen_time) if d.HasField("last_seen_time") else None)
                    for d in message.device_tokens)
    if out:
        raise InvalidArgument(out)
    return ProfileData(
        email=message.email or None,
        phone=message.phone or None,
        time_zone=message.time_zone or None,
        locale=message.locale or None,
        device_tokens=devices or None,
        attributes=attributes,
        consents=consents,
    )


def _attribute(key: str, value: AttributeValue) -> attribute_pb2.Attribute:
    attribute = attribute_pb2.Attribute(key=key)
    if isinstance(value, bool):
        attribute.bool_value = value
    elif isinstance(value, int):
        attribute.int_value = value
    elif isinstance(value, float):
        attribute.double_value = value
    elif isinstance(value, tuple):
        attribute.string_list_value.values.extend(value)
    elif isinstance(value, str):
        attribute.string_value = value
    else:
        attribute.timestamp_value.CopyFrom(_stamp(value))
    return attribute


def profile_to_proto(profile: Profile) -> profile_pb2.Profile:
    message = profile_pb2.Profile(
        name=f"workspaces/{profile.workspace}/profiles/{profile.external_id}",
        email=profile.email, phone=profile.phone, time_zone=profile.time_zone, locale=profile.locale,
        attributes=[_attribute(k, v) for k, v in sorted(profile.attributes.items())],
        consents=[profile_pb2.Consent(channel=channel_to_proto(c), status=_STATUS_BACK[v.status],
                                      update_time=_stamp(v.update_time), source=v.source)
                  for c, v in sorted(profile.consents.items(), key=lambda item: item[0].value)],
        etag=profile.etag,
    )
    for d in profile.device_tokens:
        token = message.device_tokens.add(token=d.token, platform=_PLATFORMS_BACK.get(d.platform, 0), app_id=d.app_id)
        if d.last_seen_time:
            token.last_seen_time.CopyFrom(_stamp(d.last_seen_time))
    if profile.create_time:
        message.create_time.CopyFrom(_stamp(profile.create_time))
    if profile.update_time:
        message.update_time.CopyFrom(_stamp(profile.update_time))
    return message
