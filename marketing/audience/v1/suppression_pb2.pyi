import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Suppression(_message.Message):
    __slots__ = ("name", "email", "phone", "profile", "channel", "reason", "note", "source", "campaign", "expire_time", "create_time", "update_time", "etag")
    class Reason(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        REASON_UNSPECIFIED: _ClassVar[Suppression.Reason]
        REASON_UNSUBSCRIBED: _ClassVar[Suppression.Reason]
        REASON_BOUNCED: _ClassVar[Suppression.Reason]
        REASON_COMPLAINED: _ClassVar[Suppression.Reason]
        REASON_MANUAL: _ClassVar[Suppression.Reason]
    REASON_UNSPECIFIED: Suppression.Reason
    REASON_UNSUBSCRIBED: Suppression.Reason
    REASON_BOUNCED: Suppression.Reason
    REASON_COMPLAINED: Suppression.Reason
    REASON_MANUAL: Suppression.Reason
    NAME_FIELD_NUMBER: _ClassVar[int]
    EMAIL_FIELD_NUMBER: _ClassVar[int]
    PHONE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    NOTE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    EXPIRE_TIME_FIELD_NUMBER: _ClassVar[int]
    CREATE_TIME_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    email: str
    phone: str
    profile: str
    channel: _channel_pb2.Channel
    reason: Suppression.Reason
    note: str
    source: str
    campaign: str
    expire_time: _timestamp_pb2.Timestamp
    create_time: _timestamp_pb2.Timestamp
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., email: _Optional[str] = ..., phone: _Optional[str] = ..., profile: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., reason: _Optional[_Union[Suppression.Reason, str]] = ..., note: _Optional[str] = ..., source: _Optional[str] = ..., campaign: _Optional[str] = ..., expire_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., create_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...
