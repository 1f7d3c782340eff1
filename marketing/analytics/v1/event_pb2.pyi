import datetime

from google.api import field_behavior_pb2 as _field_behavior_pb2
from google.api import resource_pb2 as _resource_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.type import money_pb2 as _money_pb2
from marketing.common.v1 import attribute_pb2 as _attribute_pb2
from marketing.common.v1 import channel_pb2 as _channel_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TimeGranularity(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIME_GRANULARITY_UNSPECIFIED: _ClassVar[TimeGranularity]
    TIME_GRANULARITY_HOUR: _ClassVar[TimeGranularity]
    TIME_GRANULARITY_DAY: _ClassVar[TimeGranularity]
    TIME_GRANULARITY_WEEK: _ClassVar[TimeGranularity]
    TIME_GRANULARITY_MONTH: _ClassVar[TimeGranularity]
    TIME_GRANULARITY_TOTAL: _ClassVar[TimeGranularity]

class EventDimension(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    EVENT_DIMENSION_UNSPECIFIED: _ClassVar[EventDimension]
    EVENT_DIMENSION_EVENT_TYPE: _ClassVar[EventDimension]
    EVENT_DIMENSION_CAMPAIGN: _ClassVar[EventDimension]
    EVENT_DIMENSION_CHANNEL: _ClassVar[EventDimension]
    EVENT_DIMENSION_VARIANT: _ClassVar[EventDimension]
TIME_GRANULARITY_UNSPECIFIED: TimeGranularity
TIME_GRANULARITY_HOUR: TimeGranularity
TIME_GRANULARITY_DAY: TimeGranularity
TIME_GRANULARITY_WEEK: TimeGranularity
TIME_GRANULARITY_MONTH: TimeGranularity
TIME_GRANULARITY_TOTAL: TimeGranularity
EVENT_DIMENSION_UNSPECIFIED: EventDimension
EVENT_DIMENSION_EVENT_TYPE: EventDimension
EVENT_DIMENSION_CAMPAIGN: EventDimension
EVENT_DIMENSION_CHANNEL: EventDimension
EVENT_DIMENSION_VARIANT: EventDimension

class Event(_message.Message):
    __slots__ = ("name", "event_id", "type", "profile", "campaign", "channel", "message", "variant", "properties", "value", "event_time", "receive_time", "source")
    NAME_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    PROFILE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    PROPERTIES_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_FIELD_NUMBER: _ClassVar[int]
    RECEIVE_TIME_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    name: str
    event_id: str
    type: str
    profile: str
    campaign: str
    channel: _channel_pb2.Channel
    message: str
    variant: str
    properties: _containers.RepeatedCompositeFieldContainer[_attribute_pb2.Attribute]
    value: _money_pb2.Money
    event_time: _timestamp_pb2.Timestamp
    receive_time: _timestamp_pb2.Timestamp
    source: str
    def __init__(self, name: _Optional[str] = ..., event_id: _Optional[str] = ..., type: _Optional[str] = ..., profile: _Optional[str] = ..., campaign: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., message: _Optional[str] = ..., variant: _Optional[str] = ..., properties: _Optional[_Iterable[_Union[_attribute_pb2.Attribute, _Mapping]]] = ..., value: _Optional[_Union[_money_pb2.Money, _Mapping]] = ..., event_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., receive_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., source: _Optional[str] = ...) -> None: ...

class AggregationRow(_message.Message):
    __slots__ = ("start_time", "end_time", "event_type", "campaign", "channel", "variant", "event_count", "unique_profiles", "value_sums")
    START_TIME_FIELD_NUMBER: _ClassVar[int]
    END_TIME_FIELD_NUMBER: _ClassVar[int]
    EVENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CAMPAIGN_FIELD_NUMBER: _ClassVar[int]
    CHANNEL_FIELD_NUMBER: _ClassVar[int]
    VARIANT_FIELD_NUMBER: _ClassVar[int]
    EVENT_COUNT_FIELD_NUMBER: _ClassVar[int]
    UNIQUE_PROFILES_FIELD_NUMBER: _ClassVar[int]
    VALUE_SUMS_FIELD_NUMBER: _ClassVar[int]
    start_time: _timestamp_pb2.Timestamp
    end_time: _timestamp_pb2.Timestamp
    event_type: str
    campaign: str
    channel: _channel_pb2.Channel
    variant: str
    event_count: int
    unique_profiles: int
    value_sums: _containers.RepeatedCompositeFieldContainer[_money_pb2.Money]
    def __init__(self, start_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., end_time: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., event_type: _Optional[str] = ..., campaign: _Optional[str] = ..., channel: _Optional[_Union[_channel_pb2.Channel, str]] = ..., variant: _Optional[str] = ..., event_count: _Optional[int] = ..., unique_profiles: _Optional[int] = ..., value_sums: _Optional[_Iterable[_Union[_money_pb2.Money, _Mapping]]] = ...) -> None: ...
