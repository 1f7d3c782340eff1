import datetime

from buf.validate import validate_pb2 as _validate_pb2
from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import duration_pb2 as _duration_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import dayofweek_pb2 as _dayofweek_pb2
from google.type import timeofday_pb2 as _timeofday_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class NotifySettings(_message.Message):
    __slots__ = ("name", "quiet_hours", "frequency_caps", "default_time_zone", "update_time", "etag")
    NAME_FIELD_NUMBER: _ClassVar[int]
    QUIET_HOURS_FIELD_NUMBER: _ClassVar[int]
    FREQUENCY_CAPS_FIELD_NUMBER: _ClassVar[int]
    DEFAULT_TIME_ZONE_FIELD_NUMBER: _ClassVar[int]
    UPDATE_TIME_FIELD_NUMBER: _ClassVar[int]
    ETAG_FIELD_NUMBER: _ClassVar[int]
    name: str
    quiet_hours: _containers.RepeatedCompositeFieldContainer[QuietHours]
    frequency_caps: _containers.RepeatedCompositeFieldContainer[FrequencyCap]
    default_time_zone: str
    update_time: _timestamp_pb2.Timestamp
    etag: str
    def __init__(self, name: _Optional[str] = ..., quiet_hours: _Optional[_Iterable[_Union[QuietHours, _Mapping]]] = ..., frequency_caps: _Optional[_Iterable[_Union[FrequencyCap, _Mapping]]] = ..., default_time_zone: _Optional[str] = ..., update_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., etag: _Optional[str] = ...) -> None: ...

class QuietHours(_message.Message):
    __slots__ = ("start_time", "end_time", "days", "channels")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    DAYS_FIELD_NUMBER: _ClassVar[int]
    CHANNELS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timeofday_pb2.TimeOfDay
    end_time: _timeofday_pb2.TimeOfDay
    days: _containers.RepeatedScalarFieldContainer[_dayofweek_pb2.DayOfWeek]
    channels: _containers.RepeatedScalarFieldContainer[_channel_pb2.Channel]
    def __init__(self, start_time: _Optional[_Union[_timeofday_pb2.TimeOfDay, _Mapping]] = ..., end_time: _Optional[_Union[_timeofday_pb2.TimeOfDay, _Mapping]] = ..., days: _Optional[_Iterable[_Union[_dayofweek_pb2.DayOfWeek, str]]] = ..., channels: _Optional[_Iterable[_Union[_channel_pb2.Channel, str]]] = ...) -> None: ...

class FrequencyCap(_message.Message):
    __slots__ = ("channel", "max_messages", "period")
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MAX_MESSAGES_FIELD_NUMBER: _ClassVar[int]
    PERIOD_FIELD_NUMBER: _ClassVar[int]
    channel: _channel_pb2.Channel
    max_messages: int
    period: _duration_pb2.Duration
    def __init__(self, channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., max_messages: _Optional[int] = ..., period: _Optional[_Union[datetime.timedelta, _duration_pb2.Duration, _Mapping]] = ...) -> None: ...
